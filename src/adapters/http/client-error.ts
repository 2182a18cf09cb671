import { type IncomingMessage, maxHeaderSize } from 'node:http';
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

/** What Node keeps on a socket for the response being written (its own fields, absent from its typings). */
interface InFlight {
  readonly headersSent?: boolean;
  readonly writableFinished?: boolean;
  once(event: 'finish', listener: () => void): unknown;
}

const inFlightOn = (socket: Duplex): InFlight | undefined => (socket as Duplex & { _httpMessage?: InFlight | null })._httpMessage ?? undefined;

/**
 * Writes `bytes` as the connection's last answer once every response Node still owes on it has
 * gone out: pipelined requests are answered in order, so an error about a later request must not
 * overtake the answer to an earlier one. Node hands the socket to the next queued response when
 * one finishes, so this waits response after response.
 */
function endAfterPending(socket: Duplex, bytes: Buffer): void {
  const pending = inFlightOn(socket);
  if (pending !== undefined && pending.writableFinished !== true) {
    pending.once('finish', () => endAfterPending(socket, bytes));
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(bytes, () => socket.destroy());
}

/**
 * Node's `clientError`: answers what its parser refused (or the headers timeout) with the same
 * JSON error as every other answer, after the answers owed to earlier requests, then closes. A
 * response already under way cannot be cut short by an answer of its own (the client would read
 * it as part of the body), but it is let finish first.
 */
export function answerClientError(err: NodeClientError, socket: Duplex, headersTimeoutMs: number): void {
  const proxyError = proxyErrorFor(err, headersTimeoutMs);
  if (proxyError === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  endAfterPending(socket, errorMessageBytes(proxyError));
}

/** Node's `connect`: CONNECT is no request this API serves; it gets the JSON 405 and the connection closes. */
export function answerConnect(req: IncomingMessage, socket: Duplex): void {
  const err = new ProxyError('method-not-allowed', `${req.method ?? 'CONNECT'} is not allowed: this proxy is no tunnel`);
  endAfterPending(socket, errorMessageBytes(err, { Allow: 'GET, HEAD, POST' }));
}
