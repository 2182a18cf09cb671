/**
 * Credentials given on the command line name no registry: they are for the one the user asked
 * for. When registries.conf sends the pull to a mirror or location on another domain, this store
 * declines, so the configured chain answers for that host instead (containers/image drops
 * `DockerAuthConfig` for such endpoints).
 */
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';

export class RequestedRegistryOnly implements CredentialStore {
  constructor(private readonly inner: CredentialStore) {}

  async lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined> {
    signal?.throwIfAborted();
    if (target.requestedRegistry !== undefined && target.requestedRegistry !== target.registry) return undefined;
    return this.inner.lookup(target, signal);
  }
}
