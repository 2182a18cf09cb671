import { type Credentials } from '../../ports/credential-store.js';
import { basicAuthorization } from './basic-auth.js';
import { fetchBearerToken } from './bearer-token.js';
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
  /** Sends token requests (redirects and 429 retries included, no registry auth). */
  readonly send: Send;
  readonly insecure: boolean;
}

/** The pull scope containers/image asks for (never the challenge's own scope). */
export function pullScope(repositoryPath: string): string {
  return `repository:${repositoryPath}:pull`;
}

/** Produces the Authorization value for registry requests, as the ping's challenge asks. */
export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const { challenge, credentials } = this.options;
    if (challenge?.scheme === 'basic') return basicAuthorization(credentials?.username, credentials?.password);
    if (challenge?.scheme !== 'bearer') return undefined;
    if (credentials?.registryToken) return `Bearer ${credentials.registryToken}`;
    const realm = challenge.params.realm ?? '';
    const service = challenge.params.service;
    const sorted = [...scopes].sort();
    const key = JSON.stringify([realm, service ?? null, sorted]);
    const token = await this.options.tokens.get(key, () =>
      fetchBearerToken(this.options.send, {
        realm,
        service,
        scopes: sorted,
        credentials,
        registry: this.options.registry,
        insecure: this.options.insecure,
        signal,
      }),
    );
    return `Bearer ${token}`;
  }
}
