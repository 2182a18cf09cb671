import { type DecryptionKey } from '../../adapters/ocicrypt/decryption-keys.js';
import { type Platform } from '../../domain/platform.js';
import { type ImageReference } from '../../domain/reference.js';
import { type Credentials } from '../../ports/credential-store.js';
import { type EngineEndpoint } from '../../adapters/docker-daemon/engine-endpoint.js';

/**
 * Everything the composition root needs, as plain data. Only the CLI entry reads argv and the
 * environment to fill this in; adapters receive the slices they need.
 */
export interface ProxyOptions {
  /** The image served when a request names none (`?image=`); optional. */
  readonly image?: ImageReference | undefined;
  /** Overrides of the wanted platform (skopeo's --override-os/-arch/-variant). */
  readonly platform: { readonly os?: string | undefined; readonly architecture?: string | undefined; readonly variant?: string | undefined };
  /** policy.json path (`--policy`); undefined → the default search. */
  readonly policyPath?: string | undefined;
  /** `--insecure-policy`: accept anything without reading policy.json. */
  readonly insecurePolicy: boolean;
  /** registries.d directory (`--registries.d`); undefined → the per-user one if present, else the system one. */
  readonly registriesDir?: string | undefined;
  /** How registries are reached; defaults apply when absent. */
  readonly registry?: RegistryOptions | undefined;
  /** Environment and home directory the configuration adapters resolve default paths from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** Relative paths in image names requested over HTTP are resolved against this. */
  readonly cwd: string;
  /** Owner of the per-user runtime auth file (`/run/containers/<uid>/auth.json`). */
  readonly uid?: number | undefined;
  /** The platform to prefer from manifest lists; detected from this host when absent. */
  readonly hostPlatform?: Platform | undefined;
  /** `--decryption-key` files, read and parsed by the CLI at start; encrypted layers open with them. */
  readonly decryptionKeys?: readonly DecryptionKey[] | undefined;
  /** Where docker-daemon: images come from; `/var/run/docker.sock` when absent. */
  readonly daemon?: DaemonOptions | undefined;
}

export const DEFAULT_DAEMON_SOCKET = '/var/run/docker.sock';

export const DEFAULT_DAEMON_OPTIONS: DaemonOptions = {
  endpoint: { kind: 'unix', path: DEFAULT_DAEMON_SOCKET, description: `unix://${DEFAULT_DAEMON_SOCKET} (the default)` },
};

export interface DaemonOptions {
  /**
   * The engine, or why `$DOCKER_HOST` names none: that is reported when a docker-daemon: image
   * is opened, so a session that never asks for one is not stopped by it.
   */
  readonly endpoint: EngineEndpoint | { readonly kind: 'invalid'; readonly problem: string };
}

/** Credentials as the command line decides them, before any file is read. */
export type CredentialChoice =
  /** Look in auth files (`--authfile`/`REGISTRY_AUTH_FILE` alone when given). */
  | { readonly kind: 'configured'; readonly authFile?: string | undefined }
  /** `--no-creds`: anonymous, no file is read. */
  | { readonly kind: 'none' }
  /** `--creds`, `--username/--password`, `--registry-token`. */
  | { readonly kind: 'explicit'; readonly credentials: Credentials };

export interface RegistryOptions {
  /** `--tls-verify`: when set, overrides every source's own `insecure` setting. */
  readonly tlsVerify?: boolean | undefined;
  /** `--cert-dir`: one directory of CAs and client certificates for every registry. */
  readonly certDir?: string | undefined;
  /**
   * registries.conf to use instead of the per-user or system one (`--registries-conf`,
   * `CONTAINERS_REGISTRIES_CONF`, `REGISTRIES_CONFIG_PATH`); it must exist. Drop-ins still apply.
   */
  readonly registriesConf?: string | undefined;
  readonly credentials: CredentialChoice;
  readonly connectTimeoutMs: number;
  /** No response headers or body bytes for this long ends a registry request. */
  readonly idleTimeoutMs: number;
  /** `--user-agent-prefix`, put before `container-image-proxy/<version>`. */
  readonly userAgentPrefix?: string | undefined;
  /** `--retry-times`: retries of a registry request that failed for a passing reason. */
  readonly retryTimes: number;
  /** `--retry-delay`: the wait before the first retry, doubled for each next one. */
  readonly retryDelayMs: number;
  /** `--max-parallel-per-blob`: most connections one blob is fetched on (1: one stream); undefined: the transport's default. */
  readonly maxParallelPerBlob?: number | undefined;
  /** `--blob-chunk-size`: bytes per ranged request of a blob fetched in parallel; undefined: the transport's default. */
  readonly blobChunkSize?: number | undefined;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = {
  credentials: { kind: 'configured' },
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  retryTimes: 3,
  retryDelayMs: 1000,
};
