import { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { asNewRequest } from '../log/request-context.js';

/** One request as the debug log records it. */
export interface RequestLogEntry {
  readonly time: string;
  readonly level: 'debug' | 'error';
  /** Numbers the client requests of the process; upstream events name the request they serve. */
  readonly request: number;
  readonly method: string;
  /** The request path without its query (which may carry the image name, logged separately). */
  readonly path: string;
  readonly status: number;
  /** Body bytes handed to the connection (0 for HEAD, whose body is never sent). */
  readonly bytes: number;
  readonly ms: number;
  /** The `?image=` parameter, when the request named an image. */
  readonly image?: string;
  /** Present (false) when the connection closed before the response was complete. */
  readonly complete?: false;
}

export interface RequestLogOptions {
  readonly write: (line: string) => void;
  readonly now?: () => number;
  readonly clock?: () => Date;
}

/**
 * Wraps a request listener so that every response, finished or torn down, produces one JSON
 * line. Only method, path, status, sizes and timing are recorded: never a header value, so a
 * credential can never reach the log. The handler runs as a numbered request, so what it does
 * upstream is logged with the same number.
 */
export function withRequestLog(handler: RequestListener, options: RequestLogOptions): RequestListener {
  const now = options.now ?? (() => performance.now());
  const clock = options.clock ?? (() => new Date());
  return (req, res) => {
    const started = now();
    const counted = countBodyBytes(res);
    let request = 0;
    res.once('close', () => {
      const entry = describeRequest(req, res, request, req.method === 'HEAD' ? 0 : counted.bytes, now() - started, clock());
      options.write(JSON.stringify(entry));
    });
    request = asNewRequest(() => handler(req, res));
  };
}

function describeRequest(req: IncomingMessage, res: ServerResponse, request: number, bytes: number, elapsedMs: number, at: Date): RequestLogEntry {
  const { path, image } = splitUrl(req.url ?? '');
  const complete = res.writableFinished;
  return {
    time: at.toISOString(),
    level: complete && res.statusCode < 500 ? 'debug' : 'error',
    request,
    method: req.method ?? '',
    path,
    status: res.statusCode,
    bytes,
    ms: Math.round(elapsedMs * 10) / 10,
    ...(image === null ? {} : { image }),
    ...(complete ? {} : { complete: false as const }),
  };
}

function splitUrl(url: string): { path: string; image: string | null } {
  const query = url.indexOf('?');
  if (query === -1) return { path: url, image: null };
  return { path: url.slice(0, query), image: new URLSearchParams(url.slice(query + 1)).get('image') };
}

type WriteArgs = [chunk?: unknown, ...rest: unknown[]];

/** Counts what the handler writes as body; the socket's own counter would include headers and other pipelined answers. */
function countBodyBytes(res: ServerResponse): { readonly bytes: number } {
  const counter = { bytes: 0 };
  const add = (chunk: unknown, encoding: unknown): void => {
    // A torn-down response sends nothing more, whatever the handler still hands it.
    if (res.destroyed || res.writableEnded) return;
    if (typeof chunk === 'string') counter.bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
  };
  const write = res.write.bind(res) as (...args: WriteArgs) => boolean;
  const end = res.end.bind(res) as (...args: WriteArgs) => ServerResponse;
  res.write = ((...args: WriteArgs) => {
    add(args[0], args[1]);
    return write(...args);
  }) as ServerResponse['write'];
  res.end = ((...args: WriteArgs) => {
    if (typeof args[0] !== 'function') add(args[0], args[1]);
    return end(...args);
  }) as ServerResponse['end'];
  return counter;
}

/** A message (an error answered, a torn-down blob) as a JSON line, for a stderr that is all JSON. */
export function messageLogLine(level: 'error' | 'info', message: string, at: Date = new Date()): string {
  return JSON.stringify({ time: at.toISOString(), level, message });
}
