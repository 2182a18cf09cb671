import { ProxyError } from '../../domain/errors.js';
import { parseUrlAsWritten } from '../../domain/written-host.js';
import { discard } from './bodies.js';
import { type HttpRequest, type Send } from './http.js';

export const MAX_REDIRECTS = 10;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** 307/308 repeat the request as is; the older codes turn a POST (and 303 anything) into a GET. */
function methodAfter(status: number, method: HttpRequest['method']): HttpRequest['method'] {
  if (status === 307 || status === 308) return method;
  if (status === 303 && method !== 'HEAD') return 'GET';
  return method === 'POST' ? 'GET' : method;
}

/**
 * Follows redirects like Go's http.Client (up to 10), with a stricter credential rule: the
 * Authorization header goes only to the exact host:port the request was made for and, once
 * dropped on a hop elsewhere, is never sent again in that chain (distribution-spec: never
 * forward it across host boundaries).
 */
export function followRedirects(next: Send, maxRedirects = MAX_REDIRECTS): Send {
  return async (first) => {
    const authorizedHost = first.url.host;
    let request = first;
    for (let hops = 0; ; hops++) {
      const response = await next(request);
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.statusCode) || typeof location !== 'string') return response;
      await discard(response.body);
      if (hops >= maxRedirects) {
        throw new ProxyError('registry-error', `${first.what}: more than ${maxRedirects} redirects from ${authorizedHost}`);
      }
      const target = parseUrlAsWritten(location, request.url, 'registry-error', `${first.what}: ${request.url.host} redirected to an unusable location`);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') {
        throw new ProxyError('registry-error', `${first.what}: ${request.url.host} redirected to unsupported scheme ${target.protocol}`);
      }
      const method = methodAfter(response.statusCode, request.method);
      request = {
        ...request,
        url: target,
        method,
        body: method === request.method ? request.body : undefined,
        authorization: request.authorization !== undefined && target.host === authorizedHost ? request.authorization : undefined,
      };
    }
  };
}
