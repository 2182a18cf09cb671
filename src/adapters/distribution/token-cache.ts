/** A bearer token and the moment it stops being usable. */
export interface BearerToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Bearer tokens by key (realm, service and scopes), shared by every request of the transport:
 * concurrent requests for the same key wait for one fetch instead of starting their own.
 */
export class TokenCache {
  private readonly entries = new Map<string, Promise<BearerToken>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Forgets `token` under `key` when it is still the one kept: the registry refused it before
   * its announced expiry (revoked, or its clock runs ahead of ours), so the next `get` fetches anew.
   */
  async drop(key: string, token: string): Promise<void> {
    const cached = this.entries.get(key);
    const kept = await cached?.catch(() => undefined);
    if (kept?.token === token && this.entries.get(key) === cached) this.entries.delete(key);
  }

  async get(key: string, fetch: () => Promise<BearerToken>): Promise<string> {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      // A failed fetch fails everyone who waited for it; the next request starts afresh.
      const token = await cached;
      if (token.expiresAt > this.now()) return token.token;
      if (this.entries.get(key) === cached) this.entries.delete(key);
      return this.get(key, fetch);
    }
    const pending = fetch();
    this.entries.set(key, pending);
    try {
      return (await pending).token;
    } catch (err) {
      if (this.entries.get(key) === pending) this.entries.delete(key);
      throw err;
    }
  }
}
