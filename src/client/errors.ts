/**
 * The codes the proxy answers with (`{"code", "message"}` bodies), one per failure it reports.
 * The proxy's own catalogue lives in src/domain/errors.ts, which the client may not import (it
 * ships without the proxy's code): this copy is checked against it by a test so they cannot drift.
 */
export const PROXY_ERROR_CODES = [
  'bad-request',
  'not-found',
  'method-not-allowed',
  'request-timeout',
  'headers-too-large',
  'client-unauthorized',
  'client-forbidden',
  'invalid-reference',
  'unsupported-transport',
  'image-not-found',
  'blob-not-found',
  'manifest-invalid',
  'manifest-unsupported',
  'no-matching-platform',
  'digest-mismatch',
  'size-mismatch',
  'no-decryption-key',
  'decryption-failed',
  'policy-rejected',
  'policy-invalid',
  'config-invalid',
  'unauthorized',
  'denied',
  'blocked',
  'too-many-requests',
  'registry-error',
  'network',
  'timeout',
  'credential-helper',
  'engine-error',
  'io',
  'internal',
] as const;

export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

/** Failures the client detects itself; such errors have `status` 0. */
export const CLIENT_ERROR_CODES = [
  // a body ended before its Content-Length or terminating chunk: the proxy refused to finish it
  'incomplete-body',
  // a connection closed under a call while the proxy still ran, or no pooled connection is left
  'connection-closed',
  // an answer that is not what the API promises (wrong content type, unparsable JSON, unknown code)
  'bad-response',
  // the proxy could not be started, or exited on its own: the message carries its last stderr
  // line and exit status; the session is over
  'proxy-failed',
  // the call's AbortSignal fired or its timeout passed; the session goes on
  'cancelled',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export type ImageProxyErrorCode = ProxyErrorCode | ClientErrorCode;

export function isProxyErrorCode(code: string): code is ProxyErrorCode {
  return (PROXY_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * The one error class of the client. `code` is the proxy's own code when the proxy answered, with
 * the HTTP `status`; failures the client detects itself have `status` 0 and a ClientErrorCode.
 */
export class ImageProxyError extends Error {
  readonly code: ImageProxyErrorCode;
  /** The HTTP status of the proxy's answer; 0 for errors detected by the client. */
  readonly status: number;

  constructor(code: ImageProxyErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageProxyError';
    this.code = code;
    this.status = status;
  }
}
