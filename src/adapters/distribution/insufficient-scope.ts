import { ProxyError } from '../../domain/errors.js';
import { discard } from './bodies.js';
import { type Authenticator } from './authenticator.js';
import { type HttpRequest, type HttpResponse, type Send } from './http.js';
import { registryError } from './registry-errors.js';
import { parseChallenges } from './www-authenticate.js';

/** The scope a `Bearer error="insufficient_scope"` 401 asks for, if that is what it is. */
function missingScope(response: HttpResponse): string | undefined {
  if (response.statusCode !== 401) return undefined;
  const bearer = parseChallenges(response.headers['www-authenticate']).find((c) => c.scheme === 'bearer');
  return bearer?.params.error === 'insufficient_scope' ? bearer.params.scope : undefined;
}

/**
 * Adds the registry's Authorization for `scope` and, like containers/image, retries exactly once
 * when an authenticated, body-less request is refused for `insufficient_scope`, adding the scope
 * the registry names. A 401 to a request that carried credentials becomes an `unauthorized`
 * error saying where they came from; any other answer is returned as is.
 */
export function authenticatedSend(next: Send, authenticator: Authenticator, scope: string): Send {
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    const authorization = await authenticator.authorization([scope], request.signal);
    const response = await next({ ...request, authorization });
    const extra = missingScope(response);
    if (authorization === undefined || request.body !== undefined || extra === undefined || extra === scope) return response;
    const widened = await authenticator.authorization([scope, extra], request.signal).catch(async (err: unknown) => {
      await discard(response.body);
      throw err;
    });
    if (widened === authorization) return response;
    await discard(response.body);
    return next({ ...request, authorization: widened });
  };
  return async (request) => {
    const response = await send(request);
    const source = authenticator.sentCredentials;
    if (response.statusCode !== 401 || source === undefined) return response;
    const refused = await registryError(response, response.url.host, request.what, 'other');
    throw new ProxyError('unauthorized', `${refused.message} (credentials from ${source} were sent and refused)`, { cause: refused, upstreamCode: refused.upstreamCode });
  };
}
