/**
 * The error catalogue. Every failure the proxy reports carries one of these stable codes;
 * the HTTP adapter maps codes to statuses in a single table, clients match on `code`.
 * Messages name what was wrong and never contain credentials.
 */
export const ErrorCodes = [
  'bad-request', // malformed request to the proxy's API (e.g. a malformed digest)
  'not-found', // no such API route
  'method-not-allowed',
  'request-timeout', // the request's headers did not arrive in time
  'headers-too-large', // the request's headers exceed the HTTP parser's limit
  'client-unauthorized', // a listening proxy that wants a token got none, or a wrong one
  'client-forbidden', // a TCP listener refused a request a web page could have sent (Origin, Sec-Fetch-*, a foreign Host)
  'invalid-reference', // an image name that does not parse
  'unsupported-transport', // a transport we do not know or have not wired
  'image-not-found', // the image (tag, digest, layout entry) does not exist
  'blob-not-found', // a digest that is not part of the image
  'manifest-invalid', // a manifest that does not parse or validate
  'manifest-unsupported', // schema1 and other formats we refuse
  'no-matching-platform', // no instance of a list fits the wanted platform
  'digest-mismatch', // content does not hash to what it claims
  'size-mismatch', // content length differs from the descriptor
  'no-decryption-key', // an encrypted layer none of the --decryption-key keys opens
  'decryption-failed', // an encrypted layer whose encryption metadata is unusable or whose ciphertext fails its HMAC
  'policy-rejected', // the signature policy does not allow the image
  'policy-invalid', // policy.json or registries.d does not parse or validate
  'config-invalid', // registries.conf, auth files and similar configuration errors
  'unauthorized', // the registry refused our credentials (or wants some)
  'denied', // the registry understood who we are and said no
  'blocked', // registries.conf blocks the registry
  'too-many-requests',
  'registry-error', // any other error answer from a registry
  'network', // connection refused, reset, TLS failures
  'timeout', // connect or idle timeout
  'credential-helper', // a credential helper failed
  'engine-error', // a Docker engine refused an image export or sent a broken one
  'io', // local file-system errors other than not-found
  'internal',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class ProxyError extends Error {
  readonly code: ErrorCode;
  /** For registry errors: the registry's own code (e.g. MANIFEST_UNKNOWN), kept for diagnostics. */
  readonly upstreamCode: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; upstreamCode?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.upstreamCode = options?.upstreamCode;
  }
}

export function isProxyError(err: unknown, code?: ErrorCode): err is ProxyError {
  return err instanceof ProxyError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a ProxyError, keeping the original as `cause`. */
export function toProxyError(err: unknown, fallback: ErrorCode = 'internal'): ProxyError {
  if (err instanceof ProxyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProxyError(fallback, message, { cause: err });
}

/**
 * Where JSON.parse stopped, without the text around it: V8 quotes the start of the input
 * (`Unexpected token 'r', "root:$y$j9"... is not valid JSON`), and a file that is not JSON may
 * be a link to one the client must not read.
 */
export function jsonSyntaxPlace(err: unknown): string {
  const position = /at position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  return position === undefined ? '' : ` (at byte ${position})`;
}
