import { type SecureContextOptions, getCACertificates } from 'node:tls';
import { type Dispatcher } from 'undici';
import { Agent } from './undici-parts.js';

/** Per-host TLS material from certs.d: extra CAs (added to the system ones) and a client certificate. */
export type TlsOptions = Pick<SecureContextOptions, 'ca' | 'cert' | 'key'>;

/** Looks up the TLS material for `host[:port]` (e.g. a certs.d directory); undefined when there is none. */
export type TlsProvider = (host: string) => Promise<TlsOptions | undefined>;

/** The default dispatcher for registries: undici's Agent with our connect timeout. */
export function createRegistryAgent(options: { readonly connectMs: number }): Dispatcher {
  return new Agent({ connect: { timeout: options.connectMs } });
}

/** certs.d directories are named after the reference's host, not its API host. */
function certsHost(host: string): string {
  return host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function withSystemCas(ca: TlsOptions['ca']): TlsOptions['ca'] {
  if (ca === undefined) return undefined;
  return [...getCACertificates('default'), ...(Array.isArray(ca) ? ca : [ca])];
}

/**
 * Picks the dispatcher for a request: the injected one, unless the host needs its own TLS
 * settings (certs.d material, or verification off for an insecure source). Those hosts get an
 * Agent of their own, created on first use and closed by `close()`; the injected dispatcher is
 * the caller's and is never closed here. The choice is made once per host and verification mode.
 */
export class HostDispatchers {
  private readonly chosen = new Map<string, Promise<Dispatcher>>();

  constructor(private readonly options: { readonly base: Dispatcher; readonly tls: TlsProvider; readonly connectMs: number }) {}

  get(url: URL, insecure: boolean): Promise<Dispatcher> {
    if (url.protocol !== 'https:') return Promise.resolve(this.options.base);
    const key = `${url.host}|${insecure}`;
    let choice = this.chosen.get(key);
    if (choice === undefined) {
      choice = this.choose(url.host, insecure);
      this.chosen.set(key, choice);
      choice.catch(() => this.chosen.delete(key));
    }
    return choice;
  }

  private async choose(host: string, insecure: boolean): Promise<Dispatcher> {
    const tls = await this.options.tls(certsHost(host));
    if (tls === undefined && !insecure) return this.options.base;
    return new Agent({
      connect: {
        timeout: this.options.connectMs,
        rejectUnauthorized: !insecure,
        // Nothing is verified against it, so no root store is built: Node's ~150 root
        // certificates take ~2 ms to parse at the first connection (the https attempt of every
        // start), about half of that TLS context's cost.
        ...(tls?.ca === undefined ? (insecure ? { ca: [] } : {}) : { ca: withSystemCas(tls.ca) }),
        ...(tls?.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
      },
    });
  }

  async close(): Promise<void> {
    const settled = await Promise.allSettled(this.chosen.values());
    this.chosen.clear();
    const own = settled.flatMap((s) => (s.status === 'fulfilled' && s.value !== this.options.base ? [s.value] : []));
    await Promise.all(own.map((dispatcher) => dispatcher.close()));
  }
}
