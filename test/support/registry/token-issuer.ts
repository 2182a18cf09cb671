import { createPrivateKey, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTestPki } from './certs.js';
import { parseScope, signRegistryJwt, type JwtSigner, type ResourceAccess } from './registry-jwt.js';

/**
 * The token realm of a docker-registry with token auth, on 127.0.0.1: a small node:http
 * server that issues JWTs the registry trusts, so the real Bearer flow (401 challenge →
 * token request → retry) runs against a real registry. It records every token request so
 * tests and the benchmark can assert "one token request per scope".
 */

export interface TestUser {
  readonly user: string;
  readonly pass: string;
}

export interface TokenIssuerOptions {
  /** Where the signing CA and key are written. */
  readonly dir: string;
  readonly users?: readonly TestUser[];
  /** Repositories anonymous clients may pull from (default: all of them). */
  readonly anonymousPull?: 'all' | 'none' | readonly string[];
  /** Which field carries the token: distribution's `token`, OAuth2's `access_token`, or both. */
  readonly tokenField?: 'token' | 'access_token' | 'both';
  /** `expires_in` in seconds; `null` leaves the field out (clients must assume 60 s). */
  readonly expiresIn?: number | null;
  /** Serve the realm over https with this certificate (e.g. when the registry uses TLS). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  readonly service?: string;
  readonly issuer?: string;
}

export interface TokenRequestRecord {
  readonly method: string;
  /** The requested scopes, sorted and joined by a space ('' for none). */
  readonly scope: string;
  /** The authenticated user, if any. */
  readonly account: string | undefined;
  /** How the client authenticated; 'rejected' when its credentials were refused. */
  readonly grantType: 'anonymous' | 'basic' | 'password' | 'refresh_token' | 'rejected';
}

export interface TokenIssuer {
  /** The realm URL the registry's challenge names. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The CA certificate file for the registry's `rootcertbundle`. */
  readonly rootCertBundlePath: string;
  readonly requests: readonly TokenRequestRecord[];
  /** How many token requests asked for exactly this scope string. */
  countFor(scope: string): number;
  /** A refresh token (an OAuth2 "identity token") that logs in as `user`. */
  issueRefreshToken(user: string): string;
  resetCounts(): void;
  stop(): Promise<void>;
}

class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const pki = await makeTestPki(join(options.dir, 'token-signing'), 'container-image-proxy test token signer', []);
  const signer: JwtSigner = { certificatePem: pki.certPem, privateKey: createPrivateKey(pki.keyPem) };
  const service = options.service ?? 'test-registry';
  const issuer = options.issuer ?? 'test-token-issuer';
  const users = new Map((options.users ?? []).map((u) => [u.user, u.pass]));
  const refreshTokens = new Map<string, string>();
  const requests: TokenRequestRecord[] = [];
  const anonymousPull = options.anonymousPull ?? 'all';

  const issueRefreshToken = (user: string): string => {
    const token = randomBytes(24).toString('base64url');
    refreshTokens.set(token, user);
    return token;
  };

  const grant = (account: string | undefined, scopes: readonly string[]): ResourceAccess[] =>
    scopes.flatMap((scope) => {
      const wanted = parseScope(scope);
      if (wanted === undefined) return [];
      if (account !== undefined) return [wanted];
      const publicRepo = anonymousPull === 'all' || (anonymousPull !== 'none' && anonymousPull.includes(wanted.name));
      const actions = publicRepo && wanted.type === 'repository' ? wanted.actions.filter((a) => a === 'pull') : [];
      // Like Docker Hub: an anonymous token is still issued, just without the access asked for.
      return actions.length > 0 ? [{ ...wanted, actions }] : [];
    });

  const checkPassword = (user: string, pass: string): string => {
    if (users.get(user) !== pass) throw new TokenRequestError(401, `bad credentials for user ${user}`);
    return user;
  };

  const authenticate = (
    req: IncomingMessage,
    form: URLSearchParams | undefined,
    query: URLSearchParams,
  ): { account: string | undefined; grantType: Exclude<TokenRequestRecord['grantType'], 'rejected'>; wantsRefresh: boolean } => {
    if (form !== undefined) {
      const grantType = form.get('grant_type');
      if (grantType === 'refresh_token') {
        const user = refreshTokens.get(form.get('refresh_token') ?? '');
        if (user === undefined) throw new TokenRequestError(401, 'unknown refresh token');
        return { account: user, grantType, wantsRefresh: true };
      }
      if (grantType === 'password') {
        const account = checkPassword(form.get('username') ?? '', form.get('password') ?? '');
        return { account, grantType, wantsRefresh: form.get('access_type') === 'offline' };
      }
      throw new TokenRequestError(400, `unsupported grant_type ${JSON.stringify(grantType)}`);
    }
    const header = req.headers.authorization;
    if (header === undefined) return { account: undefined, grantType: 'anonymous', wantsRefresh: false };
    const match = /^Basic\s+(\S+)$/i.exec(header);
    if (match === null) throw new TokenRequestError(400, 'only Basic authorization is understood here');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const account = checkPassword(decoded.slice(0, colon < 0 ? undefined : colon), colon < 0 ? '' : decoded.slice(colon + 1));
    return { account, grantType: 'basic', wantsRefresh: query.get('offline_token') === 'true' };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') throw new TokenRequestError(404, `no such path ${url.pathname}`);
    let form: URLSearchParams | undefined;
    if (req.method === 'POST') form = new URLSearchParams(await readBody(req));
    else if (req.method !== 'GET') throw new TokenRequestError(405, `method ${req.method} not allowed`);
    const params = form ?? url.searchParams;
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const scope = [...scopes].sort().join(' ');
    let authenticated: ReturnType<typeof authenticate>;
    try {
      authenticated = authenticate(req, form, url.searchParams);
    } catch (error) {
      requests.push({ method: req.method, scope, account: undefined, grantType: 'rejected' });
      throw error;
    }
    const { account, grantType, wantsRefresh } = authenticated;
    requests.push({ method: req.method, scope, account, grantType });
    if (params.get('service') !== null && params.get('service') !== service) {
      throw new TokenRequestError(400, `unknown service ${JSON.stringify(params.get('service'))}`);
    }
    const lifetimeSeconds = options.expiresIn === null ? 60 : (options.expiresIn ?? 300);
    const token = signRegistryJwt(signer, { issuer, audience: service, subject: account ?? '', access: grant(account, scopes), lifetimeSeconds });
    const body: Record<string, unknown> = { issued_at: new Date().toISOString() };
    if (options.expiresIn !== null) body.expires_in = lifetimeSeconds;
    const field = options.tokenField ?? 'token';
    if (field !== 'access_token') body.token = token;
    if (field !== 'token') body.access_token = token;
    if (wantsRefresh && account !== undefined) body.refresh_token = issueRefreshToken(account);
    sendJson(res, 200, body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof TokenRequestError ? error.status : 500;
      const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Basic realm="test-token-issuer"' } : {};
      sendJson(res, status, { errors: [{ code: status === 401 ? 'UNAUTHORIZED' : 'DENIED', message: String((error as Error).message) }] }, headers);
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest) : createHttpServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    realm: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundlePath: pki.caPath,
    requests,
    countFor: (scope) => requests.filter((r) => r.scope === scope).length,
    issueRefreshToken,
    resetCounts: () => {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
  res.end(bytes);
}
