import { ProxyError } from '../../domain/errors.js';
import { MAX_TOKEN_BYTES } from '../../domain/size-limits.js';
import { parseUrlAsWritten } from '../../domain/written-host.js';
import { type Credentials } from '../../ports/credential-store.js';
import { readCapped } from './bodies.js';
import { credentialSource } from './credential-source.js';
import { basicAuthorization } from './basic-auth.js';
import { type Send } from './http.js';
import { registryError } from './registry-errors.js';
import { type RegistryToken } from './token-cache.js';

/** distribution's token spec: a token never lives less than 60 s, and 60 s is the default. */
const MIN_LIFETIME_S = 60;
/** containers/image identifies itself this way on OAuth2 refresh-token requests; registries know it. */
const OAUTH_CLIENT_ID = 'containers/image';

export interface TokenRequest {
  readonly realm: string;
  readonly service: string | undefined;
  readonly scopes: readonly string[];
  readonly credentials: Credentials | undefined;
  /** The registry the token is for, for messages. */
  readonly registry: string;
  readonly insecure: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Query or form parameters in sorted key order, as Go's url.Values.Encode writes them. */
function encodeSorted(pairs: readonly (readonly [string, string])[]): string {
  const params = new URLSearchParams();
  for (const [key, value] of [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) params.append(key, value);
  return params.toString();
}

function realmUrl(request: TokenRequest): URL {
  return parseUrlAsWritten(request.realm, undefined, 'registry-error', `registry ${request.registry}: bearer challenge realm`);
}

function parseToken(bytes: Buffer | undefined, registry: string, now: number): RegistryToken {
  let json: unknown;
  try {
    json = bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null) {
    throw new ProxyError('registry-error', `registry ${registry}: the token endpoint answered something that is not a JSON object`);
  }
  const fields = json as Record<string, unknown>;
  const token = typeof fields.token === 'string' && fields.token !== '' ? fields.token : fields.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new ProxyError('registry-error', `registry ${registry}: the token endpoint answered without a token`);
  }
  const issuedAt = typeof fields.issued_at === 'string' ? Date.parse(fields.issued_at) : Number.NaN;
  const expiresIn = typeof fields.expires_in === 'number' ? fields.expires_in : 0;
  const start = Number.isNaN(issuedAt) ? now : issuedAt;
  return { token, expiresAt: start + Math.max(expiresIn, MIN_LIFETIME_S) * 1000 };
}

/**
 * Fetches a bearer token from the challenge's realm: an OAuth2 refresh-token POST when there is an
 * identity token, else a GET (anonymous, or with Basic auth when both username and password exist).
 */
export async function fetchRegistryToken(send: Send, request: TokenRequest, now: () => number = Date.now): Promise<RegistryToken> {
  const url = realmUrl(request);
  const creds = request.credentials;
  const service = request.service === undefined ? [] : [['service', request.service] as const];
  const scopes = request.scopes.map((scope) => ['scope', scope] as const);
  const what = `token for ${request.registry}`;
  let response;
  if (creds?.identityToken) {
    const form = encodeSorted([...service, ...scopes, ['grant_type', 'refresh_token'], ['refresh_token', creds.identityToken], ['client_id', OAUTH_CLIENT_ID]]);
    response = await send({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      insecure: request.insecure,
      what,
      signal: request.signal,
    });
  } else {
    const account = creds?.username ? [['account', creds.username] as const] : [];
    url.search = encodeSorted([...url.searchParams.entries(), ...account, ...scopes, ...service]);
    const authorization = creds?.username && creds.password ? basicAuthorization(creds.username, creds.password) : undefined;
    response = await send({ url, method: 'GET', authorization, insecure: request.insecure, what, signal: request.signal });
  }
  if (response.statusCode === 401) {
    await readCapped(response.body, MAX_TOKEN_BYTES).catch(() => undefined);
    const source = credentialSource(creds);
    const sent = source === undefined ? 'no credentials were sent' : `credentials from ${source} were sent and refused`;
    throw new ProxyError('unauthorized', `registry ${request.registry}: unable to retrieve auth token: invalid username/password (${sent})`);
  }
  if (response.statusCode !== 200) throw await registryError(response, url.host, what, 'token');
  const bytes = await readCapped(response.body, MAX_TOKEN_BYTES).catch((err: unknown) => {
    throw response.failure(err);
  });
  return parseToken(bytes, request.registry, now());
}
