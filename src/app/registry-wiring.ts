import { authFileChain } from '../adapters/credentials/auth-file-chain.js';
import { AuthFileCredentials } from '../adapters/credentials/auth-file-credentials.js';
import { authFilePaths } from '../adapters/credentials/auth-file-paths.js';
import { NoCredentials } from '../adapters/credentials/no-credentials.js';
import { StaticCredentials } from '../adapters/credentials/static-credentials.js';
import { createRegistryAgent } from '../adapters/distribution/dispatchers.js';
import { DistributionTransport } from '../adapters/distribution/distribution-transport.js';
import { CertsDirectories, defaultCertsDirectories } from '../adapters/tls/certs-d.js';
import { type CredentialStore } from '../ports/credential-store.js';
import { DEFAULT_REGISTRY_OPTIONS, type ProxyOptions } from './options.js';
import { VERSION } from './version.js';

/** The credential store the command line asks for. */
export function credentialStoreFor(options: ProxyOptions): CredentialStore {
  const choice = (options.registry ?? DEFAULT_REGISTRY_OPTIONS).credentials;
  switch (choice.kind) {
    case 'none':
      return new NoCredentials();
    case 'explicit':
      return new StaticCredentials(choice.credentials);
    case 'configured':
      // An explicit auth file is the only one read, as with containers/image's AuthFilePath.
      if (choice.authFile !== undefined) return new AuthFileCredentials({ path: choice.authFile, legacy: false });
      return authFileChain(authFilePaths(options.env, options.homeDir, options.uid ?? 0));
  }
}

/** The docker:// transport: undici with our own dispatcher, certs.d TLS and timeouts. */
export function distributionTransportFor(options: ProxyOptions, credentials: CredentialStore): DistributionTransport {
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
  });
}
