import { type Dispatcher } from 'undici';
import { ProxyError } from '../../domain/errors.js';
import { type ImageReference, dockerName } from '../../domain/reference.js';
import { type CredentialStore } from '../../ports/credential-store.js';
import { type Log, SILENT_LOG } from '../../ports/log.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { Authenticator, pullScope } from './authenticator.js';
import { HostDispatchers, type TlsProvider } from './dispatchers.js';
import { type Send, baseSend } from './http.js';
import { authenticatedSend } from './insufficient-scope.js';
import { EndpointCache, ping } from './ping.js';
import { followRedirects } from './redirects.js';
import { RegistryImageSource } from './registry-image-source.js';
import { type ParallelFetch } from './repository.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-after.js';
import { TokenCache } from './token-cache.js';
import { retryTransient } from './transient-retries.js';

export interface DistributionTransportOptions {
  /** Carries every request for hosts without TLS settings of their own. Never undici's global one. */
  readonly dispatcher: Dispatcher;
  readonly credentials: CredentialStore;
  /** e.g. `container-image-proxy/0.1.0`, with the user's prefix when given. */
  readonly userAgent: string;
  /** Per-host CAs and client certificates (certs.d). */
  readonly tls: TlsProvider;
  /** `--tls-verify`: when set, overrides each source's own insecure setting. */
  readonly tlsVerify: boolean | undefined;
  readonly timeouts: {
    /** Connect timeout for the Agents this transport creates (the injected dispatcher has its own). */
    readonly connectMs: number;
    /** No response headers, or no body bytes, for this long → `timeout`. */
    readonly idleMs: number;
  };
  /** How transient failures (429, 5xx, resets, timeouts) are retried; 3 retries from 1 s by default. */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /** Upstream exchanges, retries and authentication are recorded here. */
  readonly log?: Log | undefined;
  /** How large blobs may be fetched over several connections; DEFAULT_PARALLEL_FETCH by default. */
  readonly parallel?: Partial<ParallelFetch> | undefined;
}

/**
 * The defaults the bench chose (docs/performance.md): up to 16 connections of 4 MiB requests
 * reach ~5× one capped connection where 8 did not, and hold at most 68 MiB of chunks.
 */
export const DEFAULT_PARALLEL_FETCH: ParallelFetch = { maxStreams: 16, chunkSize: 4 * 1024 * 1024 };

/** `docker.io` is served from its API host; every other registry from its own name. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** The `docker://` transport: images on registries speaking the distribution API, over undici. */
export class DistributionTransport implements Transport {
  readonly name = 'docker' as const;
  private readonly dispatchers: HostDispatchers;
  private readonly endpoints = new EndpointCache();
  private readonly tokens = new TokenCache();
  /** Unauthenticated requests: pings, token fetches, foreign layers. */
  private readonly plainSend: Send;
  private readonly log: Log;

  constructor(private readonly options: DistributionTransportOptions) {
    this.dispatchers = new HostDispatchers({ base: options.dispatcher, tls: options.tls, connectMs: options.timeouts.connectMs });
    const limits = options.timeouts;
    const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.log = options.log ?? SILENT_LOG;
    const base = baseSend({ dispatcherFor: (url, insecure) => this.dispatchers.get(url, insecure), userAgent: options.userAgent, limits, log: this.log });
    this.plainSend = retryTransient(followRedirects(base), retry, this.log);
  }

  async open(reference: ImageReference, options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'docker') {
      throw new ProxyError('unsupported-transport', `the docker transport cannot open a ${reference.transport}: reference`);
    }
    signal?.throwIfAborted();
    const docker = reference.docker;
    const insecure = this.options.tlsVerify === undefined ? options.insecure === true : !this.options.tlsVerify;
    const host = apiHost(docker.domain);
    const endpoint = await this.endpoints.get(host, insecure, () => ping(this.plainSend, host, insecure, signal));
    const target = { registry: docker.domain, repository: dockerName(docker), requestedRegistry: options.requestedRegistry };
    const credentials = await this.options.credentials.lookup(target, signal);
    const authenticator = new Authenticator({
      registry: docker.domain,
      challenge: endpoint.challenge,
      credentials,
      tokens: this.tokens,
      send: this.plainSend,
      insecure,
      log: this.log,
    });
    const source = new RegistryImageSource(
      { transport: 'docker', docker },
      {
        name: dockerName(docker),
        baseUrl: endpoint.baseUrl,
        path: docker.path,
        insecure,
        supportsSignatures: endpoint.supportsSignatures,
        send: authenticatedSend(this.plainSend, authenticator, pullScope(docker.path)),
        sendAnonymous: this.plainSend,
        parallel: { ...DEFAULT_PARALLEL_FETCH, ...this.options.parallel },
      },
    );
    // Like containers/image, opening reads the manifest: a missing image fails here, not later.
    await source.manifest(undefined, signal);
    return source;
  }

  /** Closes the Agents created for hosts with their own TLS settings; the injected dispatcher stays open. */
  close(): Promise<void> {
    return this.dispatchers.close();
  }
}
