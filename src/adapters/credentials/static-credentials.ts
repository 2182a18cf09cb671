/**
 * Credentials given on the command line (`--creds`, `--username/--password`, `--registry-token`):
 * the same answer for every target, ending any chain, as c/image returns
 * `SystemContext.DockerAuthConfig` before looking anywhere else.
 *
 * Deciding which hosts may receive them (not a mirror on another domain) is the use case's job;
 * this store answers whoever asks.
 */
import { ProxyError } from '../../domain/errors.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';

export class StaticCredentials implements CredentialStore {
  private readonly credentials: Credentials;

  constructor(credentials: Credentials) {
    this.credentials = Object.freeze({ ...credentials });
  }

  async lookup(_target: CredentialTarget, signal?: AbortSignal): Promise<Credentials> {
    signal?.throwIfAborted();
    return this.credentials;
  }
}

/**
 * `--creds USER:PASS` as skopeo reads it: split at the first colon; an empty value or an empty
 * user is refused, and so is a value without a colon (skopeo would prompt for the password; a
 * sidecar has no terminal to ask on). The value is never echoed back.
 */
export function parseCredsOption(value: string): Credentials {
  if (value === '') throw new ProxyError('config-invalid', '--creds: the credentials are empty');
  const colon = value.indexOf(':');
  if (colon === -1) throw new ProxyError('config-invalid', '--creds: no password given; write --creds USER:PASSWORD');
  const username = value.slice(0, colon);
  if (username === '') throw new ProxyError('config-invalid', '--creds: the user name is empty');
  return { username, password: value.slice(colon + 1) };
}
