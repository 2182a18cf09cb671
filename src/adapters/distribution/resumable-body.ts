import { AsyncResource } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { discard } from './bodies.js';
import { contentLength, type HttpResponse } from './http.js';
import { registryError } from './registry-errors.js';
import { isConnectionBreak } from './transport-errors.js';

/** A blob that keeps breaking is a network problem, not something to retry forever. */
export const MAX_RESUMES = 5;

/** Re-requests the same blob from `offset` on (`Range: bytes=<offset>-`). */
export type RangeRequest = (offset: number) => Promise<HttpResponse>;

export interface ResumeOptions {
  /** Names the blob in errors. */
  readonly what: string;
  readonly maxResumes?: number;
}

/** Checks that a resumed answer continues exactly at `offset` (206 with a consistent Content-Range). */
async function checkResumed(response: HttpResponse, offset: number, total: number | undefined, what: string): Promise<void> {
  if (response.statusCode === 200) {
    await discard(response.body);
    throw new ProxyError('network', `${what}: resuming at byte ${offset} failed: ${response.url.host} ignored the Range request`);
  }
  if (response.statusCode !== 206) throw await registryError(response, response.url.host, what, 'blob');
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(response.headers['content-range'] ?? '').trim());
  const consistent =
    range !== null && Number(range[1]) === offset && Number(range[2]) >= offset && (range[3] === '*' || total === undefined || Number(range[3]) === total);
  if (!consistent) {
    await discard(response.body);
    throw new ProxyError('network', `${what}: resuming at byte ${offset} failed: ${response.url.host} answered an inconsistent Content-Range`);
  }
}

/**
 * The blob's bytes, in order, as one plain Readable. When the connection breaks mid-body the
 * rest is requested with `Range` and appended, so callers never see the break; a stall, an
 * abort or too many breaks end the stream with a ProxyError. Destroying the stream releases the
 * upstream body.
 *
 * Chunks are forwarded from the upstream body's events rather than through an async iterator:
 * on a multi-GiB blob the per-chunk promises of an iterator cost a measurable share of throughput.
 */
class ResumableBody extends Readable {
  private current: HttpResponse;
  private offset = 0;
  private resumes = 0;
  private readonly total: number | undefined;

  constructor(
    first: HttpResponse,
    private readonly reopen: RangeRequest,
    private readonly options: ResumeOptions,
  ) {
    super();
    this.total = contentLength(first);
    this.current = first;
    this.attach(first);
  }

  override _read(): void {
    this.current.body.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.release(this.current);
    callback(err);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.offset += chunk.length;
    if (!this.push(chunk)) this.current.body.pause();
  };

  private readonly onEnd = (): void => {
    this.release(this.current);
    this.push(null);
  };

  // Bound to the context the body was opened in, so the Range request is logged for the client
  // request it serves rather than whichever one the socket's events happen to run in.
  private readonly onError = AsyncResource.bind((err: unknown): void => {
    void this.resumeAfter(err);
  });

  private attach(response: HttpResponse): void {
    this.current = response;
    response.body.on('data', this.onData);
    response.body.once('end', this.onEnd);
    response.body.once('error', this.onError);
  }

  private release(response: HttpResponse): void {
    response.body.off('data', this.onData);
    response.body.off('end', this.onEnd);
    response.body.off('error', this.onError);
    // A late error from a body we let go of must not crash the process.
    response.body.on('error', () => undefined);
    if (!response.body.destroyed) response.body.destroy();
  }

  private async resumeAfter(err: unknown): Promise<void> {
    const broken = this.current;
    this.release(broken);
    if (this.destroyed) return;
    if (!isConnectionBreak(err) || this.resumes >= (this.options.maxResumes ?? MAX_RESUMES)) {
      this.destroy(broken.failure(err));
      return;
    }
    this.resumes++;
    let next: HttpResponse | undefined;
    try {
      next = await this.reopen(this.offset);
      if (this.destroyed) {
        this.release(next);
        return;
      }
      await checkResumed(next, this.offset, this.total, this.options.what);
      this.attach(next);
    } catch (failure) {
      if (next !== undefined) this.release(next);
      this.destroy(failure as Error);
    }
  }
}

export function resumableBody(first: HttpResponse, reopen: RangeRequest, options: ResumeOptions): Readable {
  return new ResumableBody(first, reopen, options);
}
