import { type Credentials } from '../../ports/credential-store.js';
import { type Log } from '../../ports/log.js';
import { basicAuthorization } from './basic-auth.js';
import { fetchRegistryToken } from './registry-token.js';
import { credentialSource } from './credential-source.js';
import { type Send } from './http.js';
import { type TokenCache } from './token-cache.js';
import { type Challenge } from './www-authenticate.js';

export interface AuthenticatorOptions {
  /** The registry as named in the reference, for messages. */
  readonly registry: string;
  /** The challenge learned from the ping; undefined → requests go unauthenticated. */
  readonly challenge: Challenge | undefined;
  readonly credentials: Credentials | undefined;
  readonly tokens: TokenCache;
  /** Sends token requests (redirects and retries included, no registry auth). */
  readonly send: Send;
  readonly insecure: boolean;
  readonly log: Log;
}

/** The pull scope containers/image asks for (never the challenge's own scope). */
export function pullScope(repositoryPath: string): string {
  return `repository:${repositoryPath}:pull`;
}

/** How a token is asked for, as fetchRegistryToken decides it; for the log. */
function tokenGrant(credentials: Credentials | undefined): string {
  if (credentials?.identityToken) return 'OAuth2 refresh token';
  return credentials?.username && credentials.password ? 'basic auth' : 'anonymous';
}

/** The realm's origin and path: its query could carry anything. */
function loggableRealm(realm: string): string {
  try {
    const url = new URL(realm);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'invalid';
  }
}

/** Produces the Authorization value for registry requests, as the ping's challenge asks. */
export class Authenticator {
  private announced = false;

  constructor(private readonly options: AuthenticatorOptions) {}

  /** Where the credentials this authenticator sends came from; undefined when it sends none. */
  get sentCredentials(): string | undefined {
    const scheme = this.options.challenge?.scheme;
    return scheme === 'basic' || scheme === 'bearer' ? credentialSource(this.options.credentials) : undefined;
  }

  /**
   * A fresh Authorization after the registry refused `refused` with a 401: a token from the realm
   * is dropped and fetched anew (it may expire, or be revoked, before the time it announced).
   * Undefined when there is nothing to renew (Basic, a fixed `--registry-token`, no token sent).
   */
  async renewed(scopes: readonly string[], refused: string, signal?: AbortSignal): Promise<string | undefined> {
    const tokenKey = this.tokenKey(scopes);
    if (tokenKey === undefined || !refused.startsWith('Bearer ')) return undefined;
    await this.options.tokens.drop(tokenKey, refused.slice('Bearer '.length));
    return this.authorization(scopes, signal);
  }

  /** The token cache's key for these scopes; undefined when tokens do not come from a realm. */
  private tokenKey(scopes: readonly string[]): string | undefined {
    const { challenge, credentials } = this.options;
    if (challenge?.scheme !== 'bearer' || credentials?.registryToken) return undefined;
    return JSON.stringify([challenge.params.realm ?? '', challenge.params.service ?? null, [...scopes].sort()]);
  }

  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const { challenge, credentials } = this.options;
    if (!this.announced) this.announce();
    if (challenge?.scheme === 'basic') return basicAuthorization(credentials?.username, credentials?.password);
    if (challenge?.scheme !== 'bearer') return undefined;
    if (credentials?.registryToken) return `Bearer ${credentials.registryToken}`;
    const realm = challenge.params.realm ?? '';
    const service = challenge.params.service;
    const sorted = [...scopes].sort();
    const key = this.tokenKey(scopes)!;
    const token = await this.options.tokens.get(
      key,
      (fetchSignal) => {
        this.options.log.record('debug', 'token', `registry ${this.options.registry}: asking ${loggableRealm(realm)} for a token (${sorted.join(' ')})`, {
          registry: this.options.registry,
          realm: loggableRealm(realm),
          service,
          scopes: sorted,
          grant: tokenGrant(credentials),
          credentials: credentialSource(credentials) ?? 'anonymous',
        });
        return fetchRegistryToken(this.options.send, {
          realm,
          service,
          scopes: sorted,
          credentials,
          registry: this.options.registry,
          insecure: this.options.insecure,
          signal: fetchSignal,
        });
      },
      signal,
    );
    return `Bearer ${token}`;
  }

  /** Once per opened image: how this registry is authenticated, and with whose credentials. */
  private announce(): void {
    this.announced = true;
    const { registry, challenge } = this.options;
    const scheme = challenge?.scheme ?? 'none';
    const credentials = scheme === 'none' ? 'none needed' : (credentialSource(this.options.credentials) ?? 'anonymous');
    const how = scheme === 'none' ? 'no authentication asked for' : `${scheme} authentication, credentials: ${credentials}`;
    const realm = challenge?.params.realm;
    this.options.log.record('info', 'auth', `registry ${registry}: ${how}`, {
      registry,
      scheme,
      credentials,
      realm: realm === undefined ? undefined : loggableRealm(realm),
    });
  }
}
