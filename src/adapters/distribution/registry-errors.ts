import { type IncomingHttpHeaders } from 'node:http';
import { type Readable } from 'node:stream';
import { type ErrorCode, ProxyError } from '../../domain/errors.js';
import { jsonExcerpt } from '../../domain/json-writer.js';
import { ERROR_BODY_CAP, readCapped } from './bodies.js';
import { parseChallenges } from './www-authenticate.js';

/** What a failed request was for; decides how a bare 404 reads. */
export type RequestKind = 'manifest' | 'blob' | 'token' | 'ping' | 'other';

interface UpstreamError {
  readonly code: string;
  readonly message: string;
}

const CODE_BY_UPSTREAM: Readonly<Record<string, ErrorCode>> = {
  MANIFEST_UNKNOWN: 'image-not-found',
  NAME_UNKNOWN: 'image-not-found',
  BLOB_UNKNOWN: 'blob-not-found',
  UNAUTHORIZED: 'unauthorized',
  DENIED: 'denied',
  TOOMANYREQUESTS: 'too-many-requests',
};

function codeForStatus(status: number, kind: RequestKind): ErrorCode {
  if (status === 404 && kind === 'manifest') return 'image-not-found';
  if (status === 404 && kind === 'blob') return 'blob-not-found';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'denied';
  if (status === 429) return 'too-many-requests';
  return 'registry-error';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeDetail(detail: unknown): string {
  if (detail === undefined || detail === null) return '';
  if (typeof detail === 'string') return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
  return jsonExcerpt(detail, 200);
}

/** The first error of a distribution error body, or Docker Hub's `{"details": …}` form. */
function parseErrorBody(status: number, bytes: Buffer | undefined): UpstreamError | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const first: unknown = Array.isArray(json.errors) ? json.errors[0] : undefined;
  if (isRecord(first) && typeof first.code === 'string') {
    const message = typeof first.message === 'string' ? first.message : '';
    const detail = describeDetail(first.detail);
    return { code: first.code, message: detail === '' ? message : `${message} (${detail})` };
  }
  if (typeof json.details === 'string') {
    const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN';
    return { code, message: json.details };
  }
  return undefined;
}

/** A Bearer challenge's own verdict on a 401 (`invalid_token`, `insufficient_scope`). */
function fromChallenge(headers: IncomingHttpHeaders): UpstreamError | undefined {
  const bearer = parseChallenges(headers['www-authenticate']).find((c) => c.scheme === 'bearer');
  const error = bearer?.params.error;
  if (error === 'invalid_token') return { code: 'UNAUTHORIZED', message: bearer?.params.error_description ?? 'invalid token' };
  if (error === 'insufficient_scope') return { code: 'DENIED', message: bearer?.params.error_description ?? 'insufficient scope' };
  return undefined;
}

export interface FailedResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/**
 * Turns a non-success registry answer into a ProxyError, reading at most 64 KiB of its body and
 * always finishing with the body. `what` names the request, e.g. `manifest docker.io/library/busybox:latest`.
 */
export async function registryError(response: FailedResponse, host: string, what: string, kind: RequestKind): Promise<ProxyError> {
  const bytes = await readCapped(response.body, ERROR_BODY_CAP).catch(() => undefined);
  const status = response.statusCode;
  const upstream = parseErrorBody(status, bytes) ?? (status === 401 ? fromChallenge(response.headers) : undefined);
  const code = (upstream && CODE_BY_UPSTREAM[upstream.code]) ?? codeForStatus(status, kind);
  const reason = upstream ? `${upstream.code}: ${upstream.message}` : `HTTP ${status}`;
  return new ProxyError(code, `registry ${host}: ${what}: ${reason}`, upstream ? { upstreamCode: upstream.code } : undefined);
}
