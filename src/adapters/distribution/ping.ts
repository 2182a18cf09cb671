import { ProxyError, isProxyError } from '../../domain/errors.js';
import { urlForHost } from '../../domain/written-host.js';
import { discard } from './bodies.js';
import { type Send } from './http.js';
import { registryError } from './registry-errors.js';
import { type Challenge, parseChallenges, usableChallenge } from './www-authenticate.js';

/** A registry API host as the ping found it: which scheme answers and what auth it wants. */
export interface Endpoint {
  /** `https://host[:port]` or, for insecure sources only, `http://…`. */
  readonly baseUrl: URL;
  readonly challenge: Challenge | undefined;
  readonly insecure: boolean;
  /** `X-Registry-Supports-Signatures: 1`: signatures come from the registry's extension API. */
  readonly supportsSignatures: boolean;
}

async function pingOnce(send: Send, base: URL, insecure: boolean, what: string, signal?: AbortSignal): Promise<Endpoint> {
  const response = await send({ url: new URL('/v2/', base), method: 'GET', insecure, what, signal });
  if (response.statusCode !== 200 && response.statusCode !== 401) {
    throw await registryError(response, base.host, what, 'ping');
  }
  await discard(response.body);
  const supportsSignatures = response.headers['x-registry-supports-signatures'] === '1';
  return { baseUrl: base, challenge: usableChallenge(parseChallenges(response.headers['www-authenticate'])), insecure, supportsSignatures };
}

/**
 * `GET /v2/` without credentials over https; only when the source is insecure, again over plain
 * http. 200 and 401 both mean "a registry"; anything else is an error. No localhost exception.
 * Every registry URL derives from the base built here, so a host Node would reach under another
 * name (`2130706433`, `127.1`) is refused here, before any request or credential lookup.
 */
export async function ping(send: Send, apiHost: string, insecure: boolean, signal?: AbortSignal): Promise<Endpoint> {
  const what = `registry ${apiHost}`;
  const https = urlForHost('https', apiHost, 'invalid-reference', what);
  if (!insecure) return pingOnce(send, https, insecure, 'ping /v2/', signal);
  try {
    return await pingOnce(send, https, insecure, 'ping /v2/ over https', signal);
  } catch (httpsError) {
    if (signal?.aborted) throw httpsError;
    try {
      return await pingOnce(send, urlForHost('http', apiHost, 'invalid-reference', what), insecure, 'ping /v2/ over http', signal);
    } catch (httpError) {
      // Each attempt's error already names the scheme and the host: joined, nothing is said twice.
      const code = isProxyError(httpError) ? httpError.code : 'network';
      const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));
      throw new ProxyError(code, `${describe(httpsError)}; ${describe(httpError)}`, {
        cause: httpError,
        upstreamCode: isProxyError(httpError) ? httpError.upstreamCode : undefined,
      });
    }
  }
}

/** Ping results per host and security mode, shared by every image opened through one transport. */
export class EndpointCache {
  private readonly entries = new Map<string, Promise<Endpoint>>();

  get(apiHost: string, insecure: boolean, probe: () => Promise<Endpoint>): Promise<Endpoint> {
    const key = `${apiHost}|${insecure}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = probe();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }
}
