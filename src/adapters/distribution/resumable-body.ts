import { Readable } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { discard } from './bodies.js';
import { type HttpResponse } from './http.js';
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

/** Total length from the first answer, when it announced one. */
export function contentLength(response: HttpResponse): number | undefined {
  const value = response.headers['content-length'];
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
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
    range !== null &&
    Number(range[1]) === offset &&
    Number(range[2]) >= offset &&
    (range[3] === '*' || total === undefined || Number(range[3]) === total);
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
 */
export function resumableBody(first: HttpResponse, reopen: RangeRequest, options: ResumeOptions): Readable {
  const total = contentLength(first);
  const maxResumes = options.maxResumes ?? MAX_RESUMES;
  async function* chunks(): AsyncGenerator<Buffer> {
    let current = first;
    let offset = 0;
    let resumes = 0;
    for (;;) {
      try {
        for await (const chunk of current.body as AsyncIterable<Buffer>) {
          offset += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        if (!isConnectionBreak(err) || resumes >= maxResumes) throw current.failure(err);
        resumes++;
      } finally {
        if (!current.body.destroyed) current.body.destroy();
      }
      current = await reopen(offset);
      await checkResumed(current, offset, total, options.what);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
