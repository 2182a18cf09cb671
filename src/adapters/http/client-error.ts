import { maxHeaderSize } from 'node:http';
import { type Duplex } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { errorMessageBytes } from './error-response.js';

interface NodeClientError extends Error {
  readonly code?: string;
  /** llhttp's explanation, e.g. "Invalid method encountered". */
  readonly reason?: string;
}

/** What Node's HTTP parser found wrong, in the catalogue's terms; undefined for a connection that simply failed. */
function proxyErrorFor(err: NodeClientError, headersTimeoutMs: number): ProxyError | undefined {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ProxyError('request-timeout', `the request's headers did not arrive within ${headersTimeoutMs} ms of its first byte`);
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return new ProxyError('headers-too-large', `the request's headers exceed ${maxHeaderSize} bytes`);
  if (err.code?.startsWith('HPE_') === true) return new ProxyError('bad-request', `malformed HTTP request: ${err.reason ?? err.code}`);
  return undefined;
}

/**
 * Node's `clientError`: answers what its parser refused (or the headers timeout) with the same
 * JSON error as every other answer, then closes. A response already under way on this
 * connection cannot be followed by another, so then (as for a reset or a broken pipe) the
 * connection is only destroyed.
 */
export function answerClientError(err: NodeClientError, socket: Duplex, headersTimeoutMs: number): void {
  const proxyError = proxyErrorFor(err, headersTimeoutMs);
  // Node keeps the response being written on the socket; its fields are what Node itself checks here.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (proxyError === undefined || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  socket.end(errorMessageBytes(proxyError), () => socket.destroy());
}
