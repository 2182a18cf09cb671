import { AsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { RangeIgnored, checkRangeAnswer } from './byte-ranges.js';
import { type HttpResponse } from './http.js';
import { MAX_RESUMES } from './resumable-body.js';
import { MEASURE_MS, StreamCount } from './stream-count.js';
import { isConnectionBreak } from './transport-errors.js';

/** Asks for bytes [start, end) of the blob; `signal` aborts the request, its retries and their waits. */
export type SpanRequest = (start: number, end: number, signal: AbortSignal) => Promise<HttpResponse>;

export interface ParallelBodyOptions {
  /** Names the blob in errors. */
  readonly what: string;
  /** Most connections one blob is fetched on at once. */
  readonly maxStreams: number;
  /** Bytes each ranged request asks for. */
  readonly chunkSize: number;
  /** The client's: aborting it drops every request of the blob. */
  readonly signal?: AbortSignal | undefined;
  readonly now?: () => number;
}

/**
 * Past this share of a core in use, the proxy itself is what limits a stream (hashing and
 * copying a fast one, or serving others): another connection cannot help, so none is tried.
 * CPU time, unlike the event loop's busy time, does not grow when other programs crowd the cores.
 */
export const BUSY_LIMIT = 0.3;

/** A part of the blob and the answer it is being read from. */
class Span {
  /** Bytes of this span taken so far. */
  taken = 0;
  /** What arrived while an earlier span was still being delivered. */
  readonly held: Buffer[] = [];
  response: HttpResponse | undefined;
  /** Where the current answer ends: past `end` when the first span has been cut. */
  answerEnd: number;
  resumes = 0;

  constructor(
    readonly start: number,
    /** Exclusive; the first span's shrinks to where the ranged ones begin. */
    public end: number,
  ) {
    this.answerEnd = end;
  }

  get offset(): number {
    return this.start + this.taken;
  }

  get complete(): boolean {
    return this.offset >= this.end;
  }
}

/**
 * A registry blob as one Readable, fetched on as many connections as pay. The first answer (a
 * plain GET) is delivered as it comes, like a single stream. Once it has been measured alone, and
 * if the proxy spent most of that time waiting for it (BUSY_LIMIT), a probe asks for one chunk further on with `Range: bytes=A-B`; if the two together bring clearly
 * more than one did (a registry or CDN that caps each connection), the first answer is cut where
 * the probe begins and the rest is fetched in chunks on more connections, as StreamCount decides.
 * Otherwise (one connection already gets all there is, the probe was outrun, the registry
 * ignores Range or the probe failed) the probe is dropped and the blob stays one stream.
 *
 * Chunks are delivered strictly in order: the earliest undelivered one streams straight through,
 * later ones are held until it is done, and no new chunk is asked for while the undelivered ones
 * number more than the streams wanted, so memory is bounded by (streams + 1) × chunk size, not by
 * the blob. A chunk whose connection breaks is resumed alone from its last byte; an answer with
 * any other range, length or status fails the blob. Size and digest are not checked here: the
 * caller verifies the whole, as for any other source. Destroying the stream (the client went)
 * aborts every request still open, with their retries and backoff waits.
 */
class ParallelBody extends Readable {
  /** Undelivered spans in blob order; the first is being delivered. */
  private readonly spans: Span[] = [];
  /** The first byte no span covers yet. */
  private next: number;
  private probe: Span | undefined;
  /** The probe once adopted, until the chunks before it have been asked for. */
  private parked: Span | undefined;
  /** Whether the blob went over to chunks (the first answer was cut). */
  private chunked = false;
  /** Whether arriving bytes are counted: not while StreamCount has paused or settled. */
  private measuring = true;
  private warm = false;
  private resumeMeasuring: NodeJS.Timeout | undefined;
  private readonly count: StreamCount;
  private readonly aborter = new AbortController();
  private readonly signal: AbortSignal;
  // Requests started from socket events are made (and logged) for the client request this serves.
  private readonly context = new AsyncResource('ParallelBody');
  private readonly now: () => number;
  /** The process's CPU time and the time when the current single-stream measure began. */
  private busySince: { readonly cpu: NodeJS.CpuUsage; readonly at: number };

  constructor(
    first: HttpResponse,
    private readonly size: number,
    private readonly request: SpanRequest,
    private readonly options: ParallelBodyOptions,
  ) {
    super();
    this.now = options.now ?? (() => performance.now());
    this.signal = options.signal === undefined ? this.aborter.signal : AbortSignal.any([options.signal, this.aborter.signal]);
    this.count = new StreamCount(options.maxStreams, this.now());
    this.busySince = { cpu: process.cpuUsage(), at: this.now() };
    const head = new Span(0, size);
    this.next = size;
    this.spans.push(head);
    this.attach(head, first);
  }

  override _read(): void {
    this.spans[0]?.response?.body.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.resumeMeasuring);
    this.aborter.abort(err ?? new Error('the blob stream was closed'));
    for (const span of [...this.spans, ...[this.probe, this.parked].filter((s) => s !== undefined)]) {
      this.release(span);
      span.held.length = 0;
    }
    this.context.emitDestroy();
    callback(err);
  }

  private attach(span: Span, response: HttpResponse): void {
    span.response = response;
    const body = response.body;
    body.on('data', (chunk: Buffer) => this.received(span, chunk));
    body.once('end', () => {
      // Every span asks for an exact length, so an end before it is a break like any other.
      if (span.response === response && !span.complete)
        this.broke(span, response, Object.assign(new Error('the answer ended early'), { code: 'UND_ERR_SOCKET' }));
    });
    body.once('error', (err) => {
      if (span.response === response) this.context.runInAsyncScope(() => this.broke(span, response, err));
    });
  }

  /**
   * Lets go of a span's answer. One read to its end is left to finish, so its connection is
   * reused for the next chunk; any other is destroyed, which closes its connection.
   */
  private release(span: Span): void {
    const response = span.response;
    if (response === undefined) return;
    span.response = undefined;
    response.body.removeAllListeners('data');
    // A late error from a body we let go of must not crash the process.
    response.body.on('error', () => undefined);
    if (span.complete && span.answerEnd === span.end) response.body.resume();
    else if (!response.body.destroyed) response.body.destroy();
  }

  private received(span: Span, chunk: Buffer): void {
    if (this.destroyed) return;
    const room = span.end - span.offset;
    if (chunk.length > room) {
      // Only the first span, open-ended, may run past its end: it was cut where the chunks begin.
      if (span.start !== 0) {
        this.destroy(new ProxyError('network', `${this.options.what}: ${span.response?.url.host} sent more than the ${span.end - span.start} bytes asked for`));
        return;
      }
      chunk = chunk.subarray(0, room);
    }
    span.taken += chunk.length;
    if (this.measuring) this.measure(chunk.length);
    if (span === this.spans[0]) {
      if (!this.push(chunk)) span.response?.body.pause();
    } else {
      span.held.push(chunk);
    }
    if (span.complete) this.completed(span);
  }

  private completed(span: Span): void {
    this.release(span);
    if (span === this.probe) {
      this.steer(this.count.conclude(this.now()));
      this.watchCount();
    } else this.advance();
  }

  /** Delivers what is due in order, then asks for the chunks there is room for. */
  private advance(): void {
    for (;;) {
      for (let front = this.spans[0]; front !== undefined; front = this.spans[0]) {
        for (const chunk of front.held.splice(0)) this.push(chunk);
        if (!front.complete) break;
        this.spans.shift();
      }
      if (this.spans.length === 0 && this.next >= this.size) {
        this.push(null);
        return;
      }
      const front = this.spans[0];
      this.fill();
      if (this.spans[0] === front) return;
    }
  }

  /** Asks for more chunks while fewer are undelivered than the streams wanted allow. */
  private fill(): void {
    const inFlight = (): number => this.spans.filter((span) => !span.complete).length + (this.parked?.complete === false ? 1 : 0);
    while (this.next < this.size && this.spans.length <= this.count.streams && inFlight() < this.count.streams) {
      const parked = this.parked;
      if (parked !== undefined && this.next === parked.start) {
        this.parked = undefined;
        this.spans.push(parked);
        this.next = parked.end;
        continue;
      }
      const span = new Span(this.next, Math.min(this.next + this.options.chunkSize, parked?.start ?? this.size));
      this.next = span.end;
      this.spans.push(span);
      this.open(span);
    }
  }

  private measure(bytes: number): void {
    const now = this.now();
    // The share of CPU is taken over the same time as the rate: after the warm-up.
    if (!this.warm && now - this.busySince.at >= MEASURE_MS) {
      this.warm = true;
      this.busySince = { cpu: process.cpuUsage(), at: now };
    }
    this.steer(this.count.record(bytes, now));
    this.watchCount();
  }

  /**
   * Stops counting bytes while StreamCount waits or is done, and starts again when its pause
   * ends: a blob on one stream then costs nothing per chunk beyond the stream itself.
   */
  private watchCount(): void {
    const until = this.count.pausedUntil;
    if (this.count.settled) this.measuring = false;
    if (until === undefined || this.resumeMeasuring !== undefined || this.destroyed) return;
    this.measuring = false;
    this.resumeMeasuring = setTimeout(() => {
      this.resumeMeasuring = undefined;
      this.measuring = true;
    }, until - this.now());
    this.resumeMeasuring.unref();
  }

  /** Acts on the streams wanted: decides the probe, starts it, or asks for more chunks. */
  private steer(wanted: number): void {
    if (this.probe !== undefined) {
      // Outrun by the first answer: one connection is enough.
      if (wanted < 2 || this.spans[0]!.offset > this.probe.start) this.dropProbe();
      else if (this.count.settled || wanted > 2) this.adoptProbe();
      return;
    }
    if (wanted > 1 && !this.chunked) this.startProbe();
    else this.fill();
  }

  /**
   * A chunk on a second connection, far enough ahead that the first answer, going at the rate
   * just measured, does not reach it before the probe has been measured; none when the proxy
   * was too busy to be waiting on the registry.
   */
  private startProbe(): void {
    const cpu = process.cpuUsage(this.busySince.cpu);
    const busy = (cpu.user + cpu.system) / 1000 / Math.max(1, this.now() - this.busySince.at);
    if (busy > BUSY_LIMIT) {
      this.later();
      return;
    }
    const chunk = this.options.chunkSize;
    const head = this.spans[0]!;
    const ahead = Math.max(chunk, this.count.lastRate * 3 * MEASURE_MS);
    const start = Math.ceil((head.offset + ahead) / chunk) * chunk;
    if (start + 2 * chunk > this.size) {
      this.count.single();
      return;
    }
    this.probe = new Span(start, start + chunk);
    this.open(this.probe);
  }

  /**
   * The probe paid: the first answer ends at its next chunk boundary, and the rest is asked for
   * in chunks, the probe's among them.
   */
  private adoptProbe(): void {
    const probe = this.probe!;
    const head = this.spans[0]!;
    this.probe = undefined;
    if (head.start !== 0 || head.offset > probe.start) {
      // The first answer got there first: one connection was enough, for now.
      this.release(probe);
      this.later();
      return;
    }
    const chunk = this.options.chunkSize;
    this.chunked = true;
    head.end = Math.min(probe.start, Math.ceil((head.offset + 1) / chunk) * chunk);
    this.next = head.end;
    this.parked = probe;
    if (head.complete) this.completed(head);
    else this.advance();
  }

  /** Drops the probe: for good when the registry ignores Range, else until the next measure. */
  private dropProbe(forGood = false): void {
    const probe = this.probe!;
    this.probe = undefined;
    this.release(probe);
    if (forGood) this.count.single();
    else this.later();
  }

  /** One stream for now, measured again later from here. */
  private later(): void {
    this.count.later(this.now());
    this.busySince = { cpu: process.cpuUsage(), at: this.now() };
    this.watchCount();
  }

  private open(span: Span): void {
    this.context.runInAsyncScope(() => void this.ask(span));
  }

  private async ask(span: Span): Promise<void> {
    let response: HttpResponse | undefined;
    const { offset: start, end } = span;
    const asked = this.now();
    try {
      response = await this.request(start, end, this.signal);
      if (this.destroyed || (span !== this.probe && span !== this.parked && !this.spans.includes(span))) {
        response.body.on('error', () => undefined).destroy();
        return;
      }
      await checkRangeAnswer(response, start, end, this.size, this.options.what);
    } catch (err) {
      if (this.destroyed) return;
      // The probe is optional: whatever goes wrong with it, the first answer goes on alone.
      if (span === this.probe) {
        this.dropProbe(err instanceof RangeIgnored);
        return;
      }
      this.destroy(err instanceof RangeIgnored ? new ProxyError('network', `${this.options.what}: bytes ${start}-${end - 1}: ${err.message}`) : (err as Error));
      return;
    }
    if (span === this.probe) {
      const now = this.now();
      const perStream = this.count.lastRate;
      this.count.pace(now - asked, perStream > 0 ? (end - start) / perStream : 0);
      this.count.restart(now);
    }
    span.answerEnd = end;
    this.attach(span, response);
  }

  private broke(span: Span, response: HttpResponse, err: unknown): void {
    this.release(span);
    if (this.destroyed) return;
    if (span === this.probe) {
      this.dropProbe();
      return;
    }
    if (!isConnectionBreak(err) || span.resumes >= MAX_RESUMES) {
      this.destroy(response.failure(err));
      return;
    }
    span.resumes++;
    this.open(span);
  }
}

export function parallelBody(first: HttpResponse, size: number, request: SpanRequest, options: ParallelBodyOptions): Readable {
  return new ParallelBody(first, size, request, options);
}
