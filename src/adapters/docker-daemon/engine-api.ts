/**
 * The one Docker Engine API call docker-daemon: needs: `GET /images/{name}/get`, which answers
 * a `docker save` tar of the image (containers/image asks for the same export). Node's own http
 * and https speak it, over a unix socket or TCP (with Docker's TLS files), with no dependency.
 */
import { type FileHandle, readFile } from 'node:fs/promises';
import { type ClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ProxyError } from '../../domain/errors.js';
import { type EngineEndpoint, type EngineTls } from './engine-endpoint.js';

export interface EngineApiOptions {
  readonly endpoint: EngineEndpoint;
  /** No connection within this long fails the export with `timeout`. */
  readonly connectTimeoutMs: number;
  /** How long the engine may take to begin its answer once connected: podman writes the whole export first. */
  readonly answerTimeoutMs: number;
  /** An engine that sends nothing for this long while its answer streams fails the export. */
  readonly idleTimeoutMs: number;
  /** An export larger than this is broken off with `engine-error`. */
  readonly maxExportBytes: number;
}

/** How much of an error answer is read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 500;

export class DockerEngineApi {
  constructor(private readonly options: EngineApiOptions) {}

  /**
   * Writes the engine's export of `name` (an image ID or a familiar NAME:TAG) to `file`, from
   * its start; resolves with the number of bytes written. The body is streamed, never held whole.
   */
  async exportImage(name: string, file: FileHandle, signal?: AbortSignal): Promise<number> {
    const path = `/images/${name.split('/').map(encodeURIComponent).join('/')}/get`;
    const response = await this.get(path, signal);
    if (response.statusCode !== 200) throw await this.refusal(name, response);
    const announced = Number(response.headers['content-length'] ?? Number.NaN);
    if (announced > this.options.maxExportBytes) {
      // Known now: nothing of it need reach the disk.
      response.destroy();
      throw new ProxyError(
        'engine-error',
        `${this.where} announced ${announced} bytes for ${name}, more than the ${this.options.maxExportBytes} an export may have`,
      );
    }
    return this.copyBody(name, response, file, signal);
  }

  private get where(): string {
    return `the Docker engine at ${this.options.endpoint.description}`;
  }

  private async get(path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const endpoint = this.options.endpoint;
    // One connection per export (no agent): nothing is pooled, and the timers below die with it.
    const common: RequestOptions = { method: 'GET', path, agent: false, headers: { Accept: 'application/x-tar' }, ...(signal === undefined ? {} : { signal }) };
    let request: ClientRequest;
    if (endpoint.kind === 'unix') {
      request = httpRequest({ ...common, socketPath: endpoint.path });
    } else if (endpoint.tls === undefined) {
      request = httpRequest({ ...common, host: endpoint.host, port: endpoint.port });
    } else {
      request = httpsRequest({ ...common, host: endpoint.host, port: endpoint.port, ...(await tlsFiles(endpoint.tls)) });
    }
    const { connectTimeoutMs, answerTimeoutMs, idleTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      let connected = false;
      // Three bounds one after the other: connecting, the wait for the answer to start (podman
      // writes the whole export before it answers), then the idle time between bytes.
      const fail = (error: ProxyError): void => void request.destroy(error);
      let timer = setTimeout(
        () => fail(new ProxyError('timeout', `cannot reach ${this.where}: no connection within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      const established = (): void => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(() => fail(new ProxyError('timeout', `${this.where} did not begin its answer within ${answerTimeoutMs} ms`)), answerTimeoutMs);
      };
      request.once('socket', (socket) => {
        if (socket.connecting) socket.once(endpoint.kind === 'tcp' && endpoint.tls !== undefined ? 'secureConnect' : 'connect', established);
        else established();
      });
      request.once('response', (response) => {
        clearTimeout(timer);
        response.socket.setTimeout(idleTimeoutMs, () => {
          const error = new ProxyError('timeout', `${this.where} sent nothing for ${idleTimeoutMs} ms`);
          // The body is what the caller is reading: it fails with this error.
          response.destroy(error);
          request.destroy(error);
        });
        resolve(response);
      });
      request.on('error', (err) => {
        clearTimeout(timer);
        reject(this.requestError(err, connected, signal));
      });
      request.end();
    });
  }

  private requestError(err: Error, connected: boolean, signal?: AbortSignal): unknown {
    if (signal?.aborted || err.name === 'AbortError') return err;
    if (err instanceof ProxyError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const endpoint = this.options.endpoint;
    let hint = '';
    if (!connected && (code === 'ENOENT' || code === 'ECONNREFUSED')) hint = '; is the engine running? Name another with --daemon-host or $DOCKER_HOST';
    else if (code === 'EACCES') hint = '; this user may not use its socket';
    else if (endpoint.kind === 'tcp' && endpoint.tls !== undefined && /SSL|TLS|wrong version|certificate|CERT/i.test(`${code ?? ''} ${err.message}`)) {
      hint = `; TLS with ${endpoint.tls.certDir}/ca.pem (when present) failed — an engine without TLS is reached with http://HOST:PORT, or with $DOCKER_HOST=tcp://… and no $DOCKER_TLS_VERIFY`;
    }
    const what = connected ? `the connection to ${this.where} failed` : `cannot reach ${this.where}`;
    return new ProxyError('network', `${what}: ${err.message}${hint}`, { cause: err });
  }

  /** The engine's answer to an export it will not give: 404 is an unknown image, anything else a refusal. */
  private async refusal(name: string, response: IncomingMessage): Promise<ProxyError> {
    const message = await errorMessage(response, this.options.idleTimeoutMs);
    const says = message === '' ? '' : `: ${message}`;
    if (response.statusCode === 404) return new ProxyError('image-not-found', `${this.where} has no image ${name}${says}`);
    return new ProxyError('engine-error', `${this.where} refused to export ${name} (HTTP ${response.statusCode})${says}`);
  }

  private async copyBody(name: string, response: IncomingMessage, file: FileHandle, signal?: AbortSignal): Promise<number> {
    let written = 0;
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        written += chunk.length;
        if (written > this.options.maxExportBytes) {
          response.destroy();
          throw new ProxyError('engine-error', `${this.where} sent more than ${this.options.maxExportBytes} bytes for ${name}, the most an export may have`);
        }
        await file.write(chunk, 0, chunk.length, null);
      }
    } catch (err) {
      if (signal?.aborted || err instanceof ProxyError || (err instanceof Error && err.name === 'AbortError')) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new ProxyError('io', `no room for the export of ${name} in the temporary directory ($TMPDIR) after ${written} bytes`, { cause: err });
      }
      throw new ProxyError('engine-error', `the export of ${name} from ${this.where} broke off after ${written} bytes: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // An engine that closes the connection early ends the body without an error on some paths.
    if (!response.complete) throw new ProxyError('engine-error', `the export of ${name} from ${this.where} broke off after ${written} bytes`);
    return written;
  }
}

/** Docker's TLS files, each used when present; without ca.pem the system's CAs verify the engine. */
async function tlsFiles(tls: EngineTls): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((file) => optionalFile(join(tls.certDir, file))));
  if ((cert === undefined) !== (key === undefined)) {
    throw new ProxyError(
      'config-invalid',
      `${tls.certDir} holds ${cert === undefined ? 'key.pem but no cert.pem' : 'cert.pem but no key.pem'}: a client certificate needs both`,
    );
  }
  const files = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined || key === undefined ? {} : { cert, key }) };
  // Tried here, where the files are known: a bad one would otherwise fail the request with
  // OpenSSL's bare reason. Its message names no key material, only what went wrong.
  try {
    createSecureContext(files);
  } catch (err) {
    const used = Object.keys(files)
      .map((name) => `${name}.pem`)
      .join(', ');
    throw new ProxyError('config-invalid', `the engine's TLS files in ${tls.certDir} (${used}) cannot be used: ${(err as Error).message}`, { cause: err });
  }
  return files;
}

async function optionalFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ProxyError('config-invalid', `cannot read the engine's TLS file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The `message` of the engine's JSON error body (Docker's and podman's form), else its text.
 * Read for `withinMs` at most: an engine that trickles its error would otherwise hold the image
 * for as long as it likes, each byte resetting the idle timeout.
 */
async function errorMessage(response: IncomingMessage, withinMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  const deadline = setTimeout(() => response.destroy(), withinMs);
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // What arrived is enough for a message.
  } finally {
    clearTimeout(deadline);
  }
  response.destroy();
  const text = Buffer.concat(chunks).toString('utf8').trim();
  let message = text;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string')
      message = (parsed as { message: string }).message;
  } catch {
    // Not JSON: the text itself.
  }
  // One line, and nothing a terminal reading the proxy's log would act on: other control
  // characters (escape sequences that retitle or recolour it) are shown, not sent.
  const flat = message.replace(/\s+/g, ' ').replace(/\p{Cc}/gu, (control) => `\\x${control.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}
