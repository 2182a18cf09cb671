import { fileURLToPath } from 'node:url';
import { type Dispatcher } from 'undici';
import { type Digest, digestHex, digestAlgorithm } from '../../domain/digest.js';
import { isProxyError, ProxyError } from '../../domain/errors.js';
import { MAX_SIGNATURE_BYTES } from '../../domain/size-limits.js';
import { parseUrlAsWritten } from '../../domain/written-host.js';
import { readRegularFile } from '../file-system/regular-file.js';

/** containers/image's limit: a server offering more signatures than this is broken. */
export const MAX_LOOKASIDE_SIGNATURES = 128;

export interface LookasideReaderOptions {
  /** Carries http(s) lookaside requests. */
  readonly dispatcher: Dispatcher;
  /** No answer (headers or body bytes) for this long → `timeout`. */
  readonly idleMs: number;
}

/**
 * Reads `<base>/<repository path>@<algo>=<hex>/signature-N` for N = 1, 2, … until the first one
 * that does not exist, from `file://` or `http(s)://` lookaside storage.
 */
export class LookasideReader {
  constructor(private readonly options: LookasideReaderOptions) {}

  /** Every signature stored for the manifest digest, in order. */
  async read(base: string, repositoryPath: string, digest: Digest, signal?: AbortSignal): Promise<Uint8Array[]> {
    const directory = lookasideDirectory(base, repositoryPath, digest);
    const signatures: Uint8Array[] = [];
    for (let n = 1; ; n++) {
      if (n > MAX_LOOKASIDE_SIGNATURES) {
        throw new ProxyError(
          'policy-rejected',
          `lookaside ${redacted(directory)} holds more than ${MAX_LOOKASIDE_SIGNATURES} signatures; refusing to read more`,
        );
      }
      signal?.throwIfAborted();
      const url = new URL(`${directory.href}/signature-${n}`);
      const signature = await this.readOne(url, signal);
      if (signature === undefined) return signatures;
      signatures.push(signature);
    }
  }

  private readOne(url: URL, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    switch (url.protocol) {
      case 'file:':
        return readFileSignature(url, signal);
      case 'http:':
      case 'https:':
        return this.readHttpSignature(url, signal);
      default:
        throw new ProxyError('policy-invalid', `unsupported lookaside scheme ${url.protocol} in ${redacted(url)}`);
    }
  }

  private async readHttpSignature(url: URL, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    let response;
    try {
      // The dispatcher's own method: undici's top-level request() lives in its index, which the
      // proxy does not load (adapters/distribution/undici-parts.ts).
      response = await this.options.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        signal,
        headersTimeout: this.options.idleMs,
        bodyTimeout: this.options.idleMs,
      });
    } catch (err) {
      signal?.throwIfAborted();
      throw new ProxyError('network', `reading signature ${redacted(url)}: ${(err as Error).message}`, { cause: err });
    }
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new ProxyError('registry-error', `reading signature ${redacted(url)}: HTTP status ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > MAX_SIGNATURE_BYTES) {
        response.body.destroy();
        throw new ProxyError('policy-rejected', `signature ${redacted(url)} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, total);
  }
}

/** The per-manifest directory, e.g. `https://example.com/lookaside/library/busybox@sha256=817a…`. */
export function lookasideDirectory(base: string, repositoryPath: string, digest: Digest): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch (err) {
    throw new ProxyError('policy-invalid', `invalid lookaside URL ${JSON.stringify(base)}`, { cause: err });
  }
  // file: URLs name no host to reach (containers/image reads only their path).
  if (url.protocol === 'http:' || url.protocol === 'https:') url = parseUrlAsWritten(base, undefined, 'policy-invalid', `lookaside ${redacted(url)}`);
  const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  url.pathname = `${basePath}/${repositoryPath}@${digestAlgorithm(digest)}=${digestHex(digest)}`;
  return url;
}

async function readFileSignature(url: URL, signal?: AbortSignal): Promise<Uint8Array | undefined> {
  const path = fileURLToPath(url);
  let bytes;
  try {
    bytes = await readRegularFile(path, MAX_SIGNATURE_BYTES, signal);
  } catch (err) {
    if (isProxyError(err) || signal?.aborted) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ProxyError('io', `reading signature ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (bytes === undefined) throw new ProxyError('policy-rejected', `signature ${path} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
  return bytes;
}

/** A URL fit for messages: user-info (which may hold a password) removed. */
function redacted(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
