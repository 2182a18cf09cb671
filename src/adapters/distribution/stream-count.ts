/** How long each number of streams is measured before the next step is decided. */
export const MEASURE_MS = 200;
/** The first wait before a blob back on one stream is measured again; doubled each time up to MAX_RETRY_MS. */
export const RETRY_MS = 1000;
const MAX_RETRY_MS = 16_000;

/**
 * Decides how many connections a blob is fetched on, from what they deliver together: a number
 * of streams is kept only while raising it pays. Each step doubles the streams (up to `max`),
 * or quadruples them after a step whose streams each brought at least three quarters of theirs;
 * after a step (MEASURE_MS, or as long as one stream takes over a chunk, from when the added
 * streams can have answered) the aggregate rate is compared with the step before, and the next step is
 * taken only if this one brought at least half of what the added streams would bring were each
 * connection capped on its own (from 2 to 4 streams: at least 1.5× the rate); a step that
 * brought less than a quarter of it is undone, and growing pauses: after a wait (RETRY_MS,
 * doubled each time) the streams are measured again and the next step tried, as what limits a
 * transfer changes while it runs (other transfers, the machine's load). A registry that
 * gives one connection all it can, or a proxy short of CPU, shows no such gain and stays where
 * it is; a registry that caps each connection shows it at every step.
 */
export class StreamCount {
  /** Streams wanted now. */
  private current = 1;
  private growing: boolean;
  private stepStart: number;
  private stepBytes = 0;
  private previous: { readonly streams: number; readonly rate: number } | undefined;
  /** How long a step is measured: at least MEASURE_MS, and a chunk's time when chunks take longer. */
  private stepMs = MEASURE_MS;
  /** How long a new stream takes to bring its first byte: not measured as part of its step. */
  private lagMs = 0;
  /** When a blob that went back to one stream is measured again, and how long the next wait is. */
  private retryAt: number | undefined;
  private backoffMs = RETRY_MS;

  constructor(
    private readonly max: number,
    now: number,
  ) {
    this.growing = max > 1;
    // The first MEASURE_MS of a transfer is its warm-up (compiling, caches, the registry's first
    // reads): measured, it would make any second stream look like a gain.
    this.stepStart = now + MEASURE_MS;
  }

  get streams(): number {
    return this.current;
  }

  /** Bytes per millisecond the last measured step brought; 0 before one was measured. */
  get lastRate(): number {
    return this.previous?.rate ?? 0;
  }

  /** When growing paused, the time it is tried again; undefined while growing or settled. */
  get pausedUntil(): number | undefined {
    return this.growing ? undefined : this.retryAt;
  }

  /** Whether a later call to `record` may still change `streams`. */
  get settled(): boolean {
    return !this.growing && this.retryAt === undefined;
  }

  /** Falls back to one stream for good (a registry that ignores ranges, a blob nearly done). */
  single(): void {
    this.current = 1;
    this.growing = false;
    this.retryAt = undefined;
  }

  /**
   * Back to one stream for now (a second one did not pay, or could not be tried): the stream
   * is measured again after a wait that doubles each time, since what limits it may change.
   */
  later(now: number): void {
    this.current = 1;
    if (this.retryAt === undefined) this.pause(now);
  }

  /** Stops growing until a wait (doubled each time) has passed: then the streams are measured again and another step tried. */
  private pause(now: number): void {
    this.growing = false;
    this.previous = undefined;
    this.retryAt = now + this.backoffMs;
    this.backoffMs = Math.min(2 * this.backoffMs, MAX_RETRY_MS);
  }

  /** Restarts the current step's measurement (its streams have only just started). */
  restart(now: number): void {
    this.stepStart = now;
    this.stepBytes = 0;
  }

  /**
   * What the transfer has shown of itself: how long a request takes to answer, and how long one
   * stream takes over a chunk. Later steps skip the former and last at least the latter, so
   * streams just added are measured at work, not while their first chunk is still on its way.
   */
  pace(lagMs: number, chunkMs: number): void {
    this.lagMs = Math.max(0, lagMs);
    this.stepMs = Math.min(Math.max(MEASURE_MS, chunkMs), 4 * MEASURE_MS);
  }

  /** Counts bytes that arrived from the registry; answers the streams wanted from now on. */
  record(bytes: number, now: number): number {
    if (!this.growing) {
      if (this.retryAt === undefined || now < this.retryAt) return this.current;
      this.retryAt = undefined;
      this.growing = true;
      this.restart(now);
    }
    if (now <= this.stepStart) return this.current;
    this.stepBytes += bytes;
    return now - this.stepStart < this.stepMs ? this.current : this.decide(now);
  }

  /** Ends the current step's measurement early (what it measured is over: the probe is done). */
  conclude(now: number): number {
    return this.growing ? this.decide(now) : this.current;
  }

  private decide(now: number): number {
    const rate = this.stepBytes / Math.max(1, now - this.stepStart);
    let factor = 2;
    if (this.previous !== undefined) {
      const added = this.current / this.previous.streams - 1;
      const gain = rate / this.previous.rate - 1;
      // Streams that each brought nearly all they could: the cap is per connection, go faster.
      if (gain >= (3 * added) / 4) factor = 4;
      if (gain < added / 2) {
        // A step that brought next to nothing is undone; one that brought some is kept.
        if (gain < added / 4) this.current = this.previous.streams;
        this.pause(now);
        return this.current;
      }
    }
    if (this.current >= this.max) {
      this.growing = false;
      return this.current;
    }
    this.previous = { streams: this.current, rate };
    this.current = Math.min(this.max, this.current * factor);
    this.restart(now + this.lagMs);
    return this.current;
  }
}
