import { type Credentials } from '../../ports/credential-store.js';

/** Where credentials came from, in words; undefined when there are none to send. */
export function credentialSource(credentials: Credentials | undefined): string | undefined {
  const { username, password, identityToken, registryToken } = credentials ?? {};
  if (!username && !password && !identityToken && !registryToken) return undefined;
  return credentials?.source ?? 'a credential store of the embedding program';
}
