import { STATUS_CODES } from 'node:http';
import { type Response } from 'express';
import { ProxyError, toProxyError } from '../../domain/errors.js';
import { statusForCode } from './error-status.js';

/** The wire form of every error the API answers. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

/**
 * Errors raised by express itself (a malformed percent-encoding, for instance) carry an HTTP
 * `status`; a 4xx one is the client's fault and becomes `bad-request`, anything else `internal`.
 */
export function asProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const status = typeof err === 'object' && err !== null && 'status' in err ? (err as { status: unknown }).status : undefined;
  const clientFault = typeof status === 'number' && status >= 400 && status < 500;
  return toProxyError(err, clientFault ? 'bad-request' : 'internal');
}

function errorBody(err: ProxyError): Buffer {
  const body: ErrorBody = { code: err.code, message: err.message };
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** Answers with `{"code","message"}` and an exact Content-Length, so the connection stays usable. */
export function sendError(res: Response, err: ProxyError, extraHeaders: Readonly<Record<string, string>> = {}): void {
  const bytes = errorBody(err);
  res.status(statusForCode(err.code));
  res.set({ ...extraHeaders, 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

/**
 * The same answer as a whole HTTP/1.1 message, for errors found before there is a request object
 * (Node's parser refused the bytes, the headers came too late). The connection closes after it:
 * the parser cannot tell where the next request would start.
 */
export function errorMessageBytes(err: ProxyError, extraHeaders: Readonly<Record<string, string>> = {}): Buffer {
  const body = errorBody(err);
  const status = statusForCode(err.code);
  const extra = Object.entries(extraHeaders).map(([name, value]) => `${name}: ${value}\r\n`);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${extra.join('')}` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
