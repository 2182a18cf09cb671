import { ProxyError } from '../../domain/errors.js';
import { discard } from './bodies.js';
import { type Authenticator } from './authenticator.js';
import { type HttpRequest, type HttpResponse, type Send } from './http.js';
import { registryError } from './registry-errors.js';
import { parseChallenges } from './www-authenticate.js';

function bearerError(response: HttpResponse): { readonly error?: string | undefined; readonly scope?: string | undefined } | undefined {
  if (response.statusCode !== 401) return undefined;
  return parseChallenges(response.headers['www-authenticate']).find((c) => c.scheme === 'bearer')?.params;
}

/** The scope a `Bearer error="insufficient_scope"` 401 asks for, if that is what it is. */
function missingScope(response: HttpResponse): string | undefined {
  const bearer = bearerError(response);
  return bearer?.error === 'insufficient_scope' ? bearer.scope : undefined;
}

/** A `Bearer error="invalid_token"` 401: what a registry says of a token that has expired. */
function tokenRefused(response: HttpResponse): boolean {
  return bearerError(response)?.error === 'invalid_token';
}

/**
 * Adds the registry's Authorization for `scope` and, like containers/image, retries exactly once
 * when an authenticated, body-less request is refused for `insufficient_scope`, adding the scope
 * the registry names; a realm's token refused as `invalid_token` is dropped and fetched anew,
 * once (a token may lapse in the middle of a blob). A 401 to a request that carried credentials becomes an `unauthorized`
 * error saying where they came from; any other answer is returned as is.
 */
export function authenticatedSend(next: Send, authenticator: Authenticator, scope: string): Send {
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    const authorization = await authenticator.authorization([scope], request.signal);
    const response = await next({ ...request, authorization });
    const extra = missingScope(response);
    if (authorization !== undefined && tokenRefused(response)) return renewOnce(response, request, authorization);
    if (authorization === undefined || request.body !== undefined || extra === undefined || extra === scope) return response;
    const widened = await authenticator.authorization([scope, extra], request.signal).catch(async (err: unknown) => {
      await discard(response.body);
      throw err;
    });
    if (widened === authorization) return response;
    await discard(response.body);
    return next({ ...request, authorization: widened });
  };
  /** A token refused before its time (expired early, revoked) is fetched anew once. */
  const renewOnce = async (response: HttpResponse, request: HttpRequest, refused: string): Promise<HttpResponse> => {
    const renewed = await authenticator.renewed([scope], refused, request.signal).catch(async (err: unknown) => {
      await discard(response.body);
      throw err;
    });
    if (renewed === undefined || renewed === refused) return response;
    await discard(response.body);
    return next({ ...request, authorization: renewed });
  };
  return async (request) => {
    const response = await send(request);
    const source = authenticator.sentCredentials;
    if (response.statusCode !== 401 || source === undefined) return response;
    const refused = await registryError(response, response.url.host, request.what, 'other');
    throw new ProxyError('unauthorized', `${refused.message} (credentials from ${source} were sent and refused)`, {
      cause: refused,
      upstreamCode: refused.upstreamCode,
    });
  };
}
