import { Readable } from 'node:stream';
import { type Answer } from './connection.js';
import { ImageProxyError, isProxyErrorCode } from './errors.js';
import { type ProgressMeter } from './progress.js';

/** Error bodies are tiny JSON objects; anything longer is not the proxy talking. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** Reads a whole (small) body; raw stream errors are left for the caller to explain. */
export async function readBody(what: string, body: Readable, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      body.destroy();
      throw new ImageProxyError('bad-response', 0, `${what}: the answer is longer than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function parseJson<T>(what: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new ImageProxyError('bad-response', 0, `${what}: the answer is not JSON: ${bytes.subarray(0, 200).toString('utf8')}`, { cause: err });
  }
}

/** The proxy's `{"code", "message"}` error answer, read whole so the connection stays usable. */
export async function errorOf(what: string, answer: Answer): Promise<ImageProxyError> {
  const text = (await readBody(what, answer.body, ERROR_BODY_LIMIT)).toString('utf8');
  let parsed: { code?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
  } catch {
    // Not the proxy's JSON error shape: reported as a bad response below.
  }
  if (typeof parsed?.code === 'string' && typeof parsed.message === 'string') {
    if (isProxyErrorCode(parsed.code)) return new ImageProxyError(parsed.code, answer.status, parsed.message);
    return new ImageProxyError('bad-response', answer.status, `${what}: an error code this client does not know, ${parsed.code}: ${parsed.message}`);
  }
  return new ImageProxyError('bad-response', answer.status, `${what}: HTTP ${answer.status} without a JSON error: ${text.slice(0, 200)}`);
}

export interface RelayEvents {
  /** The body arrived whole. */
  complete(): void;
  /** The reader destroyed the stream before its end. */
  abandon(): void;
  /** The body failed after `received` bytes: the error the reader gets. */
  fail(err: unknown, received: number): Promise<Error>;
}

/**
 * Hands a streamed body to the reader. undici only ends a body normally after its
 * Content-Length bytes or the terminating chunk, so `complete` means the proxy finished it;
 * anything else goes through `fail` (or `abandon`), never as a normal end. `progress` counts the
 * bytes as they arrive; a callback that throws fails the stream with its exception.
 */
export function relay(body: Readable, events: RelayEvents, progress?: ProgressMeter): Readable {
  let received = 0;
  let settled = false;
  let failure: Error | undefined;
  // A read Node asked for and no chunk has answered yet: until one does, Node asks no more.
  let reading = false;
  const out = new Readable({
    read: () => {
      reading = true;
      if (failure === undefined) body.resume();
      else out.destroy(failure);
    },
    destroy: (err, callback) => {
      progress?.stop();
      if (!settled) {
        settled = true;
        body.destroy();
        events.abandon();
      }
      callback(err);
    },
  });
  const failWith = (err: unknown): void => void out.destroy(err instanceof Error ? err : new Error(String(err)));
  /**
   * Runs a progress call; false when it threw, which failed the stream with its exception. An
   * async callback is not awaited, but its rejection fails the stream too, if it has not ended:
   * left alone, it would be an unhandled rejection, which ends a Node process.
   */
  const reported = (call: () => unknown): boolean => {
    try {
      const result = call();
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, failWith);
      return true;
    } catch (err) {
      failWith(err);
      return false;
    }
  };
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    reading = false;
    if (!reported(() => progress?.received(chunk.length))) return;
    if (!out.push(chunk)) body.pause();
  });
  body.once('end', () => {
    if (settled) return;
    settled = true;
    events.complete();
    // The final progress call comes before the reader sees the end.
    if (reported(() => progress?.completed())) out.push(null);
  });
  body.once('error', (err) => {
    progress?.stop();
    if (settled) return;
    settled = true;
    void events.fail(err, received).then((error) => {
      // A reader waiting for data (pipe() or 'data', with or without an 'error' listener) gets
      // the error now, as from any Node stream: waiting for another read would wait forever. A
      // stream nobody reads or listens to yet (paused, say, when a timeout fired) fails at its
      // next read, rather than as an uncaught 'error' event.
      if (reading || out.listenerCount('error') > 0) out.destroy(error);
      else failure = error;
    });
  });
  return out;
}
