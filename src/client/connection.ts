import { type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Client } from 'undici';
import { ImageProxyError } from './errors.js';

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

/** Error bodies are tiny JSON objects; anything longer is not the proxy talking. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Longest idle time undici accepts as a plain timer value. The sidecar's parent may wait hours
 * between requests, and undici closing the only connection would end the proxy.
 */
const NEVER = 2 ** 31 - 1;

/**
 * One keep-alive HTTP/1.1 connection over the parent's half of the socketpair. There is no
 * second connection to fall back to: once the socket closes, every request fails with
 * `connection-closed`, and `describeClose` says why (usually how the proxy exited).
 */
export class ProxyConnection {
  readonly #client: Client;

  constructor(socket: Socket, private readonly describeClose: () => Promise<string>) {
    let handedOver = false;
    this.#client = new Client('http://container-image-proxy', {
      connect: (_options, callback) => {
        // undici expects the connector to answer asynchronously, like a real connect.
        if (handedOver) process.nextTick(callback, new Error('the socketpair to the proxy is closed'), null);
        else process.nextTick(callback, null, socket);
        handedOver = true;
      },
      pipelining: 1,
      keepAliveTimeout: NEVER,
      keepAliveMaxTimeout: NEVER,
      // The proxy enforces its own registry timeouts; a slow registry is not the client's call.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** Sends one request; an error answer (status ≥ 300) throws the proxy's ImageProxyError. */
  async request(method: 'GET' | 'POST', path: string, signal?: AbortSignal): Promise<Answer> {
    let answer: Answer;
    try {
      const { statusCode, headers, body } = await this.#client.request({ method, path, signal: signal ?? null });
      answer = { status: statusCode, headers, body };
    } catch (err) {
      throw await this.failure(`${method} ${path}`, err);
    }
    if (answer.status >= 300) throw await this.errorOf(`${method} ${path}`, answer);
    return answer;
  }

  /** Reads a whole (small) body, mapping a broken connection to `connection-closed`. */
  async bytes(what: string, body: Readable, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        length += chunk.length;
        if (length > limit) {
          body.destroy();
          throw new ImageProxyError('bad-response', 0, `${what}: the answer is longer than ${limit} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      throw await this.failure(what, err);
    }
    return Buffer.concat(chunks);
  }

  async json<T>(what: string, answer: Answer): Promise<T> {
    const text = (await this.bytes(what, answer.body)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ImageProxyError('bad-response', 0, `${what}: the answer is not JSON: ${text.slice(0, 200)}`, { cause: err });
    }
  }

  /**
   * Relays a streamed body, failing it with `incomplete-body` when the connection ends before
   * the body does. undici only ends a body normally after its Content-Length bytes or the
   * terminating chunk, so a proxy that refused to finish a blob always surfaces here.
   */
  relay(what: string, body: Readable): Readable {
    return Readable.from(this.#relayChunks(what, body), { objectMode: false });
  }

  async *#relayChunks(what: string, body: Readable): AsyncGenerator<Buffer> {
    let received = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.length;
        yield chunk;
      }
    } catch (err) {
      if (isAbort(err)) throw err;
      const why = await this.describeClose();
      throw new ImageProxyError('incomplete-body', 0, `${what}: the body ended after ${received} bytes, before it was complete${why}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#client.destroy();
  }

  private async errorOf(what: string, answer: Answer): Promise<ImageProxyError> {
    const text = (await this.bytes(what, answer.body, ERROR_BODY_LIMIT)).toString('utf8');
    try {
      const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string' && typeof parsed.message === 'string') {
        return new ImageProxyError(parsed.code, answer.status, parsed.message);
      }
    } catch {
      // Not the proxy's JSON error shape: reported as a bad response below.
    }
    return new ImageProxyError('bad-response', answer.status, `${what}: HTTP ${answer.status} without a JSON error: ${text.slice(0, 200)}`);
  }

  private async failure(what: string, err: unknown): Promise<Error> {
    if (err instanceof ImageProxyError || isAbort(err)) return err as Error;
    const why = await this.describeClose();
    const detail = err instanceof Error ? err.message : String(err);
    return new ImageProxyError('connection-closed', 0, `${what}: the connection to the proxy closed${why}: ${detail}`, { cause: err });
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
