import { type ErrorCode } from '../../domain/errors.js';

/**
 * The one place where error codes become HTTP statuses. Clients match on the JSON `code`; the
 * status is a coarse hint for generic HTTP tooling. A registry refusing our credentials is 403, not
 * 401: 401 obliges a `WWW-Authenticate` header about the proxy itself, so it is kept for
 * `client-unauthorized`, the one error about the client's own credentials (a listen token).
 */
export const STATUS_FOR_CODE: Readonly<Record<ErrorCode, number>> = {
  'bad-request': 400,
  'not-found': 404,
  'method-not-allowed': 405,
  'request-timeout': 408,
  'headers-too-large': 431,
  'client-unauthorized': 401,
  'client-forbidden': 403,
  'invalid-reference': 400,
  'unsupported-transport': 501,
  'image-not-found': 404,
  'blob-not-found': 404,
  'manifest-invalid': 502,
  'manifest-unsupported': 501,
  'no-matching-platform': 404,
  'digest-mismatch': 502,
  'size-mismatch': 502,
  'no-decryption-key': 403,
  'decryption-failed': 502,
  'policy-rejected': 403,
  'policy-invalid': 500,
  'config-invalid': 500,
  unauthorized: 403,
  denied: 403,
  blocked: 403,
  'too-many-requests': 429,
  'registry-error': 502,
  network: 502,
  timeout: 504,
  'credential-helper': 500,
  'engine-error': 502,
  io: 500,
  internal: 500,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_FOR_CODE[code];
}
