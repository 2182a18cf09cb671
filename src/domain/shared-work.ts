/**
 * One piece of work awaited by several callers, each with its own AbortSignal. The work runs
 * under a signal of its own, aborted once every caller that joined has given up before it
 * settled: the last client to leave stops it (its requests, retries and their waits), while one
 * leaving early stops only its own wait. A caller without a signal never gives up.
 */
export class SharedWork<T> {
  readonly result: Promise<T>;
  private readonly controller = new AbortController();
  private waiting = 0;
  private settled = false;

  constructor(work: (signal: AbortSignal) => Promise<T>) {
    this.result = work(this.controller.signal);
    const settle = (): void => {
      this.settled = true;
    };
    this.result.then(settle, settle);
  }

  /** Everyone gave up and the work was stopped: whoever comes next must start it anew. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  /** The work's result, or the caller's own abort reason as soon as its signal aborts. */
  join(signal?: AbortSignal): Promise<T> {
    if (signal === undefined) {
      this.waiting++;
      return this.result;
    }
    if (signal.aborted) return Promise.reject(reasonOf(signal));
    this.waiting++;
    return new Promise<T>((resolve, reject) => {
      const leave = (): void => {
        this.waiting--;
        if (this.waiting === 0 && !this.settled) this.controller.abort(reasonOf(signal));
        reject(reasonOf(signal));
      };
      signal.addEventListener('abort', leave, { once: true });
      this.result.then(
        (value) => {
          signal.removeEventListener('abort', leave);
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(err as Error);
        },
      );
    });
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}
