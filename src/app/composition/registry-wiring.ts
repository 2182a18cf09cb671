import { authFileChain } from '../../adapters/credentials/auth-file-chain.js';
import { AuthFileCredentials } from '../../adapters/credentials/auth-file-credentials.js';
import { authFilePaths } from '../../adapters/credentials/auth-file-paths.js';
import { ChainCredentialStore } from '../../adapters/credentials/chain-credential-store.js';
import { CredentialHelper } from '../../adapters/credentials/credential-helper.js';
import { NoCredentials } from '../../adapters/credentials/no-credentials.js';
import { RegistriesConfCredentials } from '../../adapters/credentials/registries-conf-credentials.js';
import { RequestedRegistryOnly } from '../../adapters/credentials/requested-registry-only.js';
import { StaticCredentials } from '../../adapters/credentials/static-credentials.js';
import { TomlRegistriesConfig } from '../../adapters/registries-conf/toml-registries-config.js';
import { type CredentialStore } from '../../ports/credential-store.js';
import { type Log } from '../../ports/log.js';
import { type RegistriesConfig } from '../../ports/registries-config.js';
import { type Transport } from '../../ports/transport.js';
import { DEFAULT_REGISTRY_OPTIONS, type ProxyOptions } from './options.js';
import { VERSION } from '../core/version.js';

/** registries.conf with its drop-ins: the explicit file when given, else the containers search. */
export function registriesConfigFor(options: ProxyOptions): RegistriesConfig {
  return new TomlRegistriesConfig({ explicitPath: options.registry?.registriesConf, homeDir: options.homeDir });
}

/** The credential store the command line asks for. */
export function credentialStoreFor(options: ProxyOptions, registries: RegistriesConfig): CredentialStore {
  const choice = (options.registry ?? DEFAULT_REGISTRY_OPTIONS).credentials;
  switch (choice.kind) {
    case 'none':
      return new NoCredentials();
    case 'explicit':
      // For the registry asked for only; a mirror elsewhere gets what the configuration has for it.
      return new ChainCredentialStore([new RequestedRegistryOnly(new StaticCredentials(choice.credentials)), configuredCredentials(options, registries)]);
    case 'configured':
      return configuredCredentials(options, registries, choice.authFile);
  }
}

/** registries.conf `credential-helpers`, where `containers-auth.json` means the auth files. */
function configuredCredentials(options: ProxyOptions, registries: RegistriesConfig, authFile?: string): CredentialStore {
  const helpers = new CredentialHelper({ env: options.env });
  const runHelper = (name: string, registry: string, signal?: AbortSignal) => helpers.get(name, registry, signal);
  // An explicit auth file is the only one read, as with containers/image's AuthFilePath.
  const authFiles =
    authFile !== undefined
      ? new AuthFileCredentials({ path: authFile, legacy: false, runHelper })
      : authFileChain(authFilePaths(options.env, options.homeDir, options.uid ?? 0), runHelper);
  return new RegistriesConfCredentials({ registries, authFiles, helpers });
}

/**
 * The docker:// transport: undici with our own dispatcher, certs.d TLS and timeouts. Loaded at
 * its first open, so local layouts and archives start without undici and the TLS code.
 */
export function distributionTransportFor(options: ProxyOptions, credentials: CredentialStore, log: Log): Transport {
  let loading: Promise<Transport> | undefined;
  const transport = (): Promise<Transport> => (loading ??= loadDistributionTransport(options, credentials, log));
  return { name: 'docker', open: async (reference, openOptions, signal) => (await transport()).open(reference, openOptions, signal) };
}

async function loadDistributionTransport(options: ProxyOptions, credentials: CredentialStore, log: Log): Promise<Transport> {
  const [{ createRegistryAgent }, { DistributionTransport }, { CertsDirectories, defaultCertsDirectories }] = await Promise.all([
    import('../../adapters/distribution/dispatchers.js'),
    import('../../adapters/distribution/distribution-transport.js'),
    import('../../adapters/tls/certs-d.js'),
  ]);
  const registry = options.registry ?? DEFAULT_REGISTRY_OPTIONS;
  const certs = new CertsDirectories(registry.certDir !== undefined ? { certDir: registry.certDir } : { dirs: defaultCertsDirectories(options.homeDir) });
  const userAgent = `container-image-proxy/${VERSION}`;
  return new DistributionTransport({
    dispatcher: createRegistryAgent({ connectMs: registry.connectTimeoutMs }),
    credentials,
    userAgent: registry.userAgentPrefix ? `${registry.userAgentPrefix} ${userAgent}` : userAgent,
    tls: (host) => certs.tlsFor(host),
    tlsVerify: registry.tlsVerify,
    timeouts: { connectMs: registry.connectTimeoutMs, idleMs: registry.idleTimeoutMs },
    retry: { maxRetries: registry.retryTimes, initialDelayMs: registry.retryDelayMs },
    parallel: {
      ...(registry.maxParallelPerBlob === undefined ? {} : { maxStreams: registry.maxParallelPerBlob }),
      ...(registry.blobChunkSize === undefined ? {} : { chunkSize: registry.blobChunkSize }),
    },
    log,
  });
}
