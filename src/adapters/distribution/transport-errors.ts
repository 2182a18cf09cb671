import { ProxyError, isProxyError } from '../../domain/errors.js';

/** The limits in force, so timeout messages can say which one fired. */
export interface TimeoutLimits {
  readonly connectMs: number;
  readonly idleMs: number;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/;

/** Errors after which the same request may be re-sent from where it broke off. */
export function isConnectionBreak(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}

/**
 * Failures that may pass (containers/common's retryable errno list, and undici's connect and
 * response-headers timeouts): the same request is worth sending again after a wait. TLS and DNS
 * failures, and a body that stalls, are not in it.
 */
// prettier-ignore
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENETDOWN', 'ENETUNREACH', 'ENETRESET', 'EHOSTDOWN', 'EHOSTUNREACH',
  'EAGAIN', 'EBUSY', 'EINTR', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
]);

/** Whether a failed send (a ProxyError from `transportError`, or what it wraps) may pass on its own. */
export function isTransientFailure(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current !== undefined && depth < 4; depth++) {
    const code = codeOf(current);
    if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}

/** What a caller's abort rejects with: its own reason, so it can tell its abort from a failure. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Maps an undici or socket failure to the error catalogue, naming the host and what was being
 * done. When the caller's `signal` caused it, the caller's abort reason is returned instead.
 */
export function transportError(err: unknown, host: string, what: string, limits: TimeoutLimits, signal?: AbortSignal): Error {
  if (signal?.aborted) return abortReason(signal);
  if (isProxyError(err)) return err;
  const code = codeOf(err);
  // OpenSSL's messages end with a newline; an error is said on one line.
  const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyError('timeout', `${what}: connecting to ${host} timed out after ${limits.connectMs} ms`, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyError('timeout', `${what}: ${host} sent no response headers for ${limits.idleMs} ms`, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProxyError('timeout', `${what}: ${host} stalled, no body data for ${limits.idleMs} ms`, { cause: err });
    default:
      break;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    // What OpenSSL says when the answer to its hello is not TLS at all: plain http, most likely.
    return new ProxyError(
      'network',
      `${what}: ${host} does not speak TLS (it answers plain http, most likely); to allow plain http for it, use --tls-verify=false or set insecure = true for it in registries.conf`,
      { cause: err },
    );
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    return new ProxyError('network', `${what}: TLS failure talking to ${host}: ${detail} (${code})`, { cause: err });
  }
  // Node's own messages already name the code (`connect ECONNREFUSED 127.0.0.1:5999`).
  const named = code === undefined || detail.includes(code) ? '' : ` (${code})`;
  return new ProxyError('network', `${what}: connection to ${host} failed: ${detail}${named}`, { cause: err });
}
