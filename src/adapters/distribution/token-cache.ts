import { SharedWork } from '../../domain/shared-work.js';

/** A bearer token and the moment it stops being usable. */
export interface RegistryToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Bearer tokens by key (realm, service and scopes), shared by every request of the transport:
 * concurrent requests for the same key wait for one fetch instead of starting their own. A
 * request that is aborted stops waiting; the fetch itself stops only when every request
 * waiting for it has gone.
 */
export class TokenCache {
  private readonly entries = new Map<string, SharedWork<RegistryToken>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Forgets `token` under `key` when it is still the one kept: the registry refused it before
   * its announced expiry (revoked, or its clock runs ahead of ours), so the next `get` fetches anew.
   */
  async drop(key: string, token: string): Promise<void> {
    const cached = this.entries.get(key);
    const kept = await cached?.result.catch(() => undefined);
    if (kept?.token === token && this.entries.get(key) === cached) this.entries.delete(key);
  }

  async get(key: string, fetch: (signal: AbortSignal) => Promise<RegistryToken>, signal?: AbortSignal): Promise<string> {
    const cached = this.entries.get(key);
    if (cached !== undefined && !cached.abandoned) {
      // A failed fetch fails everyone who waited for it; the next request starts afresh.
      const token = await cached.join(signal);
      if (token.expiresAt > this.now()) return token.token;
      if (this.entries.get(key) === cached) this.entries.delete(key);
      return this.get(key, fetch, signal);
    }
    const pending = new SharedWork(fetch);
    this.entries.set(key, pending);
    pending.result.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    return (await pending.join(signal)).token;
  }
}
