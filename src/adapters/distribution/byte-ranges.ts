import { ProxyError } from '../../domain/errors.js';
import { discard } from './bodies.js';
import { contentLength, type HttpResponse } from './http.js';
import { registryError } from './registry-errors.js';

/** `Range` for bytes [start, end) of a blob. */
export function rangeHeader(start: number, end: number): Record<string, string> {
  return { range: `bytes=${start}-${end - 1}` };
}

/** A registry (or the CDN it redirected to) answered a ranged request with the whole blob. */
export class RangeIgnored extends Error {
  constructor(readonly host: string) {
    super(`${host} ignored the Range request`);
  }
}

/**
 * Accepts an answer to `Range: bytes=<start>-<end - 1>` only when it is a 206 carrying exactly
 * that range of a blob of `total` bytes (`*` allowed) and, when it says, exactly that length:
 * anything else would put wrong bytes at the right place. A 200 is RangeIgnored, for the caller
 * to fall back on one stream; the body of a refused answer is released.
 */
export async function checkRangeAnswer(response: HttpResponse, start: number, end: number, total: number, what: string): Promise<void> {
  const host = response.url.host;
  if (response.statusCode === 200) {
    response.body.destroy();
    throw new RangeIgnored(host);
  }
  if (response.statusCode !== 206) throw await registryError(response, host, what, 'blob');
  const announced = String(response.headers['content-range'] ?? '').trim();
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(announced);
  const exact = range !== null && Number(range[1]) === start && Number(range[2]) === end - 1 && (range[3] === '*' || Number(range[3]) === total);
  const length = contentLength(response);
  if (!exact || (length !== undefined && length !== end - start)) {
    await discard(response.body);
    const answered = exact ? `${length} bytes` : `Content-Range ${JSON.stringify(announced)}`;
    throw new ProxyError('network', `${what}: asked ${host} for bytes ${start}-${end - 1}/${total}, it answered ${answered}`);
  }
}
