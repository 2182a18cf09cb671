import { type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { errorOf, readBody, relay } from './answers.js';
import { type Answer, ProxyConnection } from './connection.js';
import { ConnectionPool, type Lease, NoConnectionLeft } from './connection-pool.js';
import { ImageProxyError } from './errors.js';
import { type ProgressMeter } from './progress.js';
import { type ProxyEnd, type SpawnedProxy } from './spawn-proxy.js';

export interface CallOptions {
  /** Cancels the call, a blob's body included: it rejects (or the stream fails) with `cancelled`. */
  readonly signal?: AbortSignal;
  /** Milliseconds the whole call may take, a blob's body included; then it fails with `cancelled`. */
  readonly timeout?: number;
}

/** How long a failed call waits for the proxy's exit, to say how it ended. */
const EXIT_GRACE_MS = 1000;

const NO_CONNECTION_LEFT = 'no connection to the proxy is left (each cancelled transfer closes one)';

/** Refuses the calls of a session that is over; each call turns it into its own error. */
class SessionOver extends Error {}

/**
 * The running proxy behind an ImageProxy: its pool of connections, how it ended, and the
 * translation of every failure into an ImageProxyError. While any call is under way the child
 * keeps the event loop alive, so a proxy that dies always settles the calls waiting on it.
 */
export class ProxySession {
  readonly #proxy: SpawnedProxy;
  readonly #pool: ConnectionPool;
  #end: ProxyEnd | undefined;
  /** Set when the caller ended the session (quit or kill): not a failure of the proxy. */
  #endedBy: 'quit()' | 'kill()' | undefined;
  #busy = 0;

  constructor(proxy: SpawnedProxy) {
    this.#proxy = proxy;
    this.#pool = new ConnectionPool(proxy.sockets.map((socket) => new ProxyConnection(socket)));
    void proxy.ended.then((end) => {
      this.#end = end;
      this.#pool.close(new SessionOver());
    });
  }

  get openConnections(): number {
    return this.#end === undefined ? this.#pool.open : 0;
  }

  /** One call whose answer `read` consumes whole; the connection then serves the next call. */
  async exchange<T>(what: string, method: 'GET' | 'POST', path: string, options: CallOptions, read: (answer: Answer) => Promise<T>): Promise<T> {
    const done = this.#begin();
    const signal = signalOf(options);
    let lease: Lease | undefined;
    try {
      lease = await this.#pool.acquire(signal);
      const answer = await this.#answer(what, lease, method, path, signal);
      const result = await read(answer);
      lease.release();
      return result;
    } catch (err) {
      lease?.discard();
      throw await this.#explain(what, err, signal, options);
    } finally {
      done();
    }
  }

  /**
   * One call whose body is handed to the caller as a stream; its connection is lent until the
   * body ends. A body that fails or is destroyed early costs that connection. `accept` checks the
   * answer's headers (throwing refuses it) and gives the meter its body's progress goes to, if any.
   */
  async stream(what: string, method: 'GET', path: string, options: CallOptions, accept: (answer: Answer) => ProgressMeter | undefined): Promise<Readable> {
    const done = this.#begin();
    const signal = signalOf(options);
    let lease: Lease | undefined;
    let answer: Answer;
    let progress: ProgressMeter | undefined;
    try {
      lease = await this.#pool.acquire(signal);
      answer = await this.#answer(what, lease, method, path, signal);
      progress = accept(answer);
    } catch (err) {
      lease?.discard();
      done();
      throw await this.#explain(what, err, signal, options);
    }
    const lent = lease;
    return relay(
      answer.body,
      {
        complete: () => {
          lent.release();
          done();
        },
        abandon: () => {
          lent.discard();
          done();
        },
        fail: async (err, received) => {
          lent.discard();
          try {
            if (signal?.aborted) return cancelled(what, signal.reason, options);
            const end = await this.#endWithin(EXIT_GRACE_MS);
            const why = end === undefined ? '' : ` (${describeEnd(end)})`;
            return new ImageProxyError('incomplete-body', 0, `${what}: the body ended after ${received} bytes, before it was complete${why}`, { cause: err });
          } finally {
            done();
          }
        },
      },
      progress,
    );
  }

  /** Sends POST /quit and waits for the exit; a non-zero exit is `proxy-failed`. */
  async quit(options: CallOptions): Promise<void> {
    const done = this.#begin();
    try {
      if (this.#end === undefined) this.#endedBy = 'quit()';
      const asked = await this.exchange('POST /quit', 'POST', '/quit', options, (answer) => readBody('POST /quit', answer.body)).catch(
        (err: unknown) => err as Error,
      );
      const end = asked instanceof Error ? await this.#endWithin(EXIT_GRACE_MS) : await this.#proxy.ended;
      if (end !== undefined && end.status.code !== 0) throw new ImageProxyError('proxy-failed', 0, `POST /quit: ${describeEnd(end)}`, { cause: asked });
      if (asked instanceof Error) {
        // The proxy still runs (the call was cancelled, say): the session goes on.
        if (end === undefined) this.#endedBy = undefined;
        throw asked;
      }
      this.#pool.close(new SessionOver());
    } finally {
      done();
    }
  }

  async kill(): Promise<ProxyEnd> {
    this.#proxy.keepAlive(true);
    this.#endedBy ??= 'kill()';
    if (this.#proxy.child.exitCode === null && this.#proxy.child.signalCode === null) this.#proxy.child.kill('SIGKILL');
    this.#pool.close(new SessionOver());
    return this.#proxy.ended;
  }

  #begin(): () => void {
    if (this.#busy++ === 0) this.#proxy.keepAlive(true);
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      if (--this.#busy === 0) this.#proxy.keepAlive(false);
    };
  }

  async #answer(what: string, lease: Lease, method: 'GET' | 'POST', path: string, signal: AbortSignal | undefined): Promise<Answer> {
    const answer = await lease.connection.request(method, path, signal);
    if (answer.status < 300) return answer;
    const failure = await errorOf(what, answer);
    // The error body was read whole (or refused as too long, which destroyed it).
    if (failure.code === 'bad-response') lease.discard();
    else lease.release();
    throw failure;
  }

  async #explain(what: string, err: unknown, signal: AbortSignal | undefined, options: CallOptions): Promise<ImageProxyError> {
    if (err instanceof ImageProxyError) return err;
    if (signal?.aborted) return cancelled(what, signal.reason, options);
    const end = await this.#endWithin(EXIT_GRACE_MS);
    if (end !== undefined) return this.#endError(what, end, err);
    if (err instanceof NoConnectionLeft) return new ImageProxyError('connection-closed', 0, `${what}: ${NO_CONNECTION_LEFT}`, { cause: err });
    const detail = err instanceof Error ? err.message : String(err);
    return new ImageProxyError('connection-closed', 0, `${what}: the connection to the proxy closed: ${detail}`, { cause: err });
  }

  #endError(what: string, end: ProxyEnd, cause: unknown): ImageProxyError {
    if (this.#endedBy !== undefined) return new ImageProxyError('connection-closed', 0, `${what}: the session was ended by ${this.#endedBy}`, { cause });
    if (end.status.code !== 0 || end.status.signal !== null) return new ImageProxyError('proxy-failed', 0, `${what}: ${describeEnd(end)}`, { cause });
    // The proxy exits 0 by itself only once every peer has closed its connection.
    return new ImageProxyError('connection-closed', 0, `${what}: ${NO_CONNECTION_LEFT}; the proxy exited with code 0`, { cause });
  }

  async #endWithin(ms: number): Promise<ProxyEnd | undefined> {
    return this.#end ?? Promise.race([this.#proxy.ended, delay(ms, undefined, { ref: false })]);
  }
}

/** "the proxy exited with code 2: container-image-proxy: unknown option …" */
function describeEnd({ status, lastLine }: ProxyEnd): string {
  const how = status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
  return `the proxy exited with ${how}${lastLine === undefined ? '' : `: ${lastLine}`}`;
}

function signalOf(options: CallOptions): AbortSignal | undefined {
  if (options.timeout === undefined) return options.signal;
  const timeout = AbortSignal.timeout(options.timeout);
  return options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
}

function cancelled(what: string, reason: unknown, options: CallOptions): ImageProxyError {
  const name = reason instanceof Error ? reason.name : undefined;
  const why =
    name === 'TimeoutError'
      ? `timed out${options.timeout === undefined ? '' : ` after ${options.timeout} ms`}`
      : name === 'AbortError'
        ? 'aborted'
        : `aborted: ${reason instanceof Error ? reason.message : String(reason)}`;
  return new ImageProxyError('cancelled', 0, `${what}: cancelled, ${why}`, { cause: reason });
}
