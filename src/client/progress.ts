/** What an `onProgress` callback is told while one blob or layer streams. */
export interface Progress {
  /** The digest that was asked for. */
  readonly digest: string;
  /** Bytes received so far; it never decreases, and the final call gives the whole body's length. */
  readonly bytes: number;
  /**
   * The body's length when the proxy announces one (`Content-Length`): a blob's descriptor size,
   * or an uncompressed layer's size when it is read decompressed. A gzip or zstd layer read
   * decompressed has none (its tar's length is known only at its end): undefined.
   */
  readonly total: number | undefined;
}

/** May be async: it is not awaited, and a promise it returns that rejects fails the read as a throw does. */
export type ProgressCallback = (progress: Progress) => void;

/** At most one call per this many milliseconds while a body streams; the final call comes on top. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Counts one body's bytes and calls back at most every PROGRESS_INTERVAL_MS, then once more when
 * the body arrived whole, so the last figure is always the complete one. A body that fails or is
 * cancelled stops it: no call after that, and no final call. The interval is counted from the
 * start, so a body that arrives within it gets only the final call.
 */
export class ProgressMeter {
  readonly #report: ProgressCallback;
  readonly #digest: string;
  readonly #total: number | undefined;
  readonly #now: () => number;
  #bytes = 0;
  #lastCall: number;
  #stopped = false;

  constructor(report: ProgressCallback, digest: string, total: number | undefined, now: () => number = () => performance.now()) {
    this.#report = report;
    this.#digest = digest;
    this.#total = total;
    this.#now = now;
    this.#lastCall = now();
  }

  /**
   * `length` more bytes arrived. What the callback returned, if it was called: its exception, or
   * the rejection of a promise it returned, is the caller's to handle.
   */
  received(length: number): unknown {
    this.#bytes += length;
    if (this.#stopped) return undefined;
    const now = this.#now();
    if (now - this.#lastCall < PROGRESS_INTERVAL_MS) return undefined;
    this.#lastCall = now;
    return this.#call();
  }

  /** The body arrived whole: the final call, and what it returned. */
  completed(): unknown {
    if (this.#stopped) return undefined;
    this.#stopped = true;
    return this.#call();
  }

  /** The body failed or was abandoned: no more calls. */
  stop(): void {
    this.#stopped = true;
  }

  #call(): unknown {
    return this.#report({ digest: this.#digest, bytes: this.#bytes, total: this.#total });
  }
}

/** Refuses an `onProgress` that is not a function before any request is made. */
export function checkProgressCallback(onProgress: unknown): void {
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`onProgress must be a function, got ${typeof onProgress}`);
}

/** A meter for `onProgress`, or undefined without one; `contentLength` is the answer's header. */
export function progressMeter(
  onProgress: ProgressCallback | undefined,
  digest: string,
  contentLength: string | string[] | undefined,
): ProgressMeter | undefined {
  if (onProgress === undefined) return undefined;
  const total = typeof contentLength === 'string' && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
  return new ProgressMeter(onProgress, digest, total);
}
