import { type IncomingHttpHeaders } from 'node:http';
import { type Readable } from 'node:stream';
import { type Dispatcher } from 'undici';
import { type Log } from '../../ports/log.js';
import { loggableUrl } from './loggable-url.js';
import { type TimeoutLimits, transportError } from './transport-errors.js';

/** One registry HTTP exchange as the wrappers see it. */
export interface HttpRequest {
  readonly url: URL;
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Readonly<Record<string, string | readonly string[]>> | undefined;
  readonly body?: string | undefined;
  /**
   * Sent only to the host:port of `url`; the redirect wrapper drops it for good on the first hop
   * elsewhere. Kept apart from `headers` so no wrapper can forward it by accident.
   */
  readonly authorization?: string | undefined;
  /** Skip TLS verification (an insecure source). */
  readonly insecure: boolean;
  /** Names the request in errors, e.g. `manifest quay.io/ns/app:1`. */
  readonly what: string;
  readonly signal?: AbortSignal | undefined;
  /** Which try this is (set by the retry layer, counted from 1), for the log. */
  readonly attempt?: number | undefined;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** Where the answer finally came from, after redirects. */
  readonly url: URL;
  /** Maps an error met while reading `body` (reset, stall, abort) to what the caller should see. */
  readonly failure: (err: unknown) => Error;
}

/** Every layer (user agent, redirects, 429 retries, auth) is a function of this shape. */
export type Send = (request: HttpRequest) => Promise<HttpResponse>;

export interface BaseSendOptions {
  readonly dispatcherFor: (url: URL, insecure: boolean) => Promise<Dispatcher>;
  readonly userAgent: string;
  readonly limits: TimeoutLimits;
  /** Records each exchange at `debug`: method, URL without secrets, status, size, time, attempt. */
  readonly log: Log;
}

/** The length an answer announced, when it announced one. */
export function contentLength(response: Pick<HttpResponse, 'headers'>): number | undefined {
  const value = response.headers['content-length'];
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * The innermost layer: one request on the right dispatcher, with the headers every registry
 * request carries and the idle timeout (headers and between body chunks). Transport failures
 * become ProxyErrors; HTTP statuses are left to the callers.
 */
export function baseSend(options: BaseSendOptions): Send {
  return async (request) => {
    const { url } = request;
    const headers: Record<string, string | string[]> = {
      ...(request.headers as Record<string, string | string[]>),
      'user-agent': options.userAgent,
      'docker-distribution-api-version': 'registry/2.0',
    };
    if (request.authorization !== undefined) headers.authorization = request.authorization;
    const started = performance.now();
    const shown = loggableUrl(url);
    const facts = () => ({
      method: request.method,
      url: shown,
      what: request.what,
      attempt: request.attempt ?? 1,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
    try {
      const dispatcher = await options.dispatcherFor(url, request.insecure);
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers,
        body: request.body,
        signal: request.signal,
        headersTimeout: options.limits.idleMs,
        bodyTimeout: options.limits.idleMs,
      });
      const failure = (err: unknown): Error => transportError(err, url.host, request.what, options.limits, request.signal);
      // `bytes` is the size the registry announced: counting a streamed blob would cost every chunk a callback.
      const bytes = contentLength(response);
      options.log.record('debug', 'upstream', `${request.method} ${shown}: ${response.statusCode}`, { ...facts(), status: response.statusCode, bytes });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body, url, failure };
    } catch (err) {
      const error = transportError(err, url.host, request.what, options.limits, request.signal);
      options.log.record('debug', 'upstream', `${request.method} ${shown}: ${error.message}`, { ...facts(), error: error.message });
      throw error;
    }
  };
}
