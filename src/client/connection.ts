import { type Socket } from 'node:net';
import { type Readable } from 'node:stream';
import { Client } from 'undici';

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

/**
 * Longest idle time undici accepts as a plain timer value. The sidecar's parent may wait hours
 * between requests, and undici closing a connection would lose it for good.
 */
const NEVER = 2 ** 31 - 1;

/**
 * One keep-alive HTTP/1.1 connection over the parent's half of one socketpair. It cannot be
 * re-established: once its socket closes (the proxy exited, or a cancelled transfer destroyed
 * it) it is gone, and `alive` says so.
 */
export class ProxyConnection {
  readonly #client: Client;
  readonly #socket: Socket;
  #alive = true;

  constructor(socket: Socket) {
    this.#socket = socket;
    // Node reads a stdio pipe from the start, which would keep the parent alive; while a call is
    // under way the session keeps the child referenced instead.
    socket.unref();
    let handedOver = false;
    socket.once('close', () => (this.#alive = false));
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
      // The proxy enforces its own registry timeouts; callers bound a call with its signal.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Sends one request; errors are undici's own, for the caller to explain. */
  async request(method: 'GET' | 'POST', path: string, signal: AbortSignal | undefined): Promise<Answer> {
    const { statusCode, headers, body } = await this.#client.request({ method, path, signal: signal ?? null });
    return { status: statusCode, headers, body };
  }

  /** Closes the connection; the proxy ends its side of it. */
  destroy(): void {
    this.#alive = false;
    void this.#client.destroy().catch(() => undefined);
    // A socket undici never connected through is not undici's to close.
    this.#socket.destroy();
  }
}
