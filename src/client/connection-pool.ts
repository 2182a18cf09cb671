import { type ProxyConnection } from './connection.js';

/** One connection lent to one call until its answer has been read to the end, or given up. */
export interface Lease {
  readonly connection: ProxyConnection;
  /** The answer was read whole: the connection serves the next call. */
  release(): void;
  /** Something is left unread on it (a cancelled or broken transfer): close it for good. */
  discard(): void;
}

/** Every one of the pool's `total` connections has been closed (by cancelled transfers). */
export class NoConnectionLeft extends Error {
  constructor(readonly total: number) {
    super(`all ${total} connections to the proxy are closed`);
    this.name = 'NoConnectionLeft';
  }
}

interface Waiter {
  readonly grant: (lease: Lease) => void;
  readonly refuse: (err: unknown) => void;
}

/**
 * The connections to one proxy. Each serves one call at a time (HTTP/1.1 answers in order, so a
 * blob read slowly would hold up everything queued behind it); calls wait, first come first
 * served, when every live connection is lent out.
 */
export class ConnectionPool {
  readonly #idle: ProxyConnection[];
  readonly #waiters: Waiter[] = [];
  readonly #total: number;
  #lent = 0;
  #closedWith: unknown;

  constructor(connections: readonly ProxyConnection[]) {
    this.#idle = [...connections];
    this.#total = connections.length;
  }

  /** How many connections are still open (idle or lent). */
  get open(): number {
    return this.#lent + this.#idle.filter((connection) => connection.alive).length;
  }

  acquire(signal: AbortSignal | undefined): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        refuse: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#serve();
    });
  }

  /** Refuses every waiting and future call with `err` and closes every connection. */
  close(err: unknown): void {
    this.#closedWith ??= err;
    for (const connection of this.#idle.splice(0)) connection.destroy();
    this.#serve();
  }

  #serve(): void {
    while (this.#waiters.length > 0) {
      if (this.#closedWith !== undefined) {
        this.#waiters.shift()!.refuse(this.#closedWith);
        continue;
      }
      this.#dropDead();
      const connection = this.#idle.shift();
      if (connection === undefined) {
        if (this.#lent === 0) this.#waiters.shift()!.refuse(new NoConnectionLeft(this.#total));
        else return;
        continue;
      }
      this.#lent += 1;
      this.#waiters.shift()!.grant(this.#lease(connection));
    }
  }

  #dropDead(): void {
    for (let i = this.#idle.length - 1; i >= 0; i -= 1) if (!this.#idle[i]!.alive) this.#idle.splice(i, 1);
  }

  #lease(connection: ProxyConnection): Lease {
    let returned = false;
    const giveBack = (keep: boolean) => {
      if (returned) return;
      returned = true;
      this.#lent -= 1;
      if (keep && connection.alive && this.#closedWith === undefined) this.#idle.push(connection);
      else connection.destroy();
      this.#serve();
    };
    return { connection, release: () => giveBack(true), discard: () => giveBack(false) };
  }
}
