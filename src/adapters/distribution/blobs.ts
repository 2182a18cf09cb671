import { parseUrlAsWritten } from '../../domain/written-host.js';
import { discard } from './bodies.js';
import { type BlobBody, type BlobRequest } from '../../ports/transport.js';
import { contentLength, type HttpResponse } from './http.js';
import { registryError } from './registry-errors.js';
import { rangeHeader } from './byte-ranges.js';
import { parallelBody } from './parallel-body.js';
import { type Repository, getFromRepository } from './repository.js';
import { resumableBody } from './resumable-body.js';

function rangeHeaders(offset: number): Record<string, string> | undefined {
  return offset === 0 ? undefined : { range: `bytes=${offset}-` };
}

/** http(s) URLs whose host is written as Node reads it; others are skipped like unknown schemes. */
function usableUrl(value: string): URL | undefined {
  try {
    const url = parseUrlAsWritten(value, undefined, 'registry-error', 'foreign layer URL');
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function body(first: HttpResponse, request: BlobRequest, reopen: (offset: number) => Promise<HttpResponse>, what: string): BlobBody {
  return { stream: resumableBody(first, reopen, { what }), size: contentLength(first) ?? request.size };
}

/**
 * Foreign-layer URLs (http and https only), without credentials; undefined when none answers, so
 * the registry is asked next (containers/image would fail here; registries often mirror them).
 */
async function fromForeignUrls(repository: Repository, request: BlobRequest, signal: AbortSignal | undefined): Promise<BlobBody | undefined> {
  for (const url of (request.urls ?? []).flatMap((u) => usableUrl(u) ?? [])) {
    const what = `foreign layer ${request.digest} from ${url.host}`;
    const get = (offset: number): Promise<HttpResponse> =>
      repository.sendAnonymous({ url, method: 'GET', headers: rangeHeaders(offset), insecure: repository.insecure, what, signal });
    try {
      const first = await get(0);
      if (first.statusCode === 200) return body(first, request, get, what);
      await discard(first.body);
    } catch (err) {
      if (signal?.aborted) throw err;
    }
  }
  return undefined;
}

/**
 * Streams a blob: first from its foreign-layer URLs, if any, then from the registry. A break
 * mid-body resumes transparently; verification of size and digest is the caller's. A registry
 * blob of at least four chunks may go on over several connections (parallel-body.ts), when
 * measuring shows that pays.
 */
export async function getRegistryBlob(repository: Repository, request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
  const foreign = await fromForeignUrls(repository, request, signal);
  if (foreign !== undefined) return foreign;
  const what = `blob ${request.digest} of ${repository.name}`;
  const get = (offset: number): Promise<HttpResponse> =>
    getFromRepository(repository, 'blobs', request.digest, { headers: rangeHeaders(offset), what, signal });
  const first = await get(0);
  if (first.statusCode !== 200) throw await registryError(first, repository.baseUrl.host, what, 'blob');
  const size = contentLength(first) ?? request.size;
  const { maxStreams, chunkSize } = repository.parallel;
  if (maxStreams < 2 || size === undefined || size < 4 * chunkSize) return body(first, request, get, what);
  const span = (start: number, end: number, spanSignal: AbortSignal): Promise<HttpResponse> =>
    getFromRepository(repository, 'blobs', request.digest, { headers: rangeHeader(start, end), what, signal: spanSignal });
  return { stream: parallelBody(first, size, span, { what, maxStreams, chunkSize, signal }), size };
}
