/**
 * The one error class of the client. `code` is the proxy's own code when the proxy answered
 * (`image-not-found`, `blob-not-found`, `policy-rejected`, …, see the README's table) with the
 * HTTP `status`; failures the client detects itself have `status` 0 and one of CLIENT_ERROR_CODES.
 */
export const CLIENT_ERROR_CODES = [
  // a body ended before its Content-Length or terminating chunk: the proxy refused to finish it
  'incomplete-body',
  // the socketpair closed (the proxy exited or was killed); the session is over
  'connection-closed',
  // an answer that is not what the API promises (wrong content type, unparsable JSON)
  'bad-response',
  // the proxy process could not be started, or exited with a non-zero status
  'proxy-failed',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export class ImageProxyError extends Error {
  /** The proxy's error code, or a ClientErrorCode when `status` is 0. */
  readonly code: string;
  /** The HTTP status of the proxy's answer; 0 for errors detected by the client. */
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageProxyError';
    this.code = code;
    this.status = status;
  }
}
