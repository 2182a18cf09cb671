import 'reflect-metadata';
import { Container } from 'inversify';
import { type Platform, wantedPlatforms } from '../../domain/platform.js';
import { DockerArchiveTransport } from '../../adapters/archive/docker-archive-transport.js';
import { OciArchiveTransport } from '../../adapters/archive/oci-archive-transport.js';
import { DirTransport } from '../../adapters/dir/dir-transport.js';
import { OciLayoutTransport } from '../../adapters/oci-layout/oci-layout-transport.js';
import { type CredentialStore } from '../../ports/credential-store.js';
import { type ImageApi } from '../../ports/image-api.js';
import { type KeyUnwrapper } from '../../ports/key-unwrapper.js';
import { type Log, SILENT_LOG } from '../../ports/log.js';
import { type RegistriesConfig } from '../../ports/registries-config.js';
import { type SignaturePolicy } from '../../ports/signature-policy.js';
import { type Transport } from '../../ports/transport.js';
import { keyUnwrappersFor } from './decryption-wiring.js';
import { detectHostPlatform } from './host-platform.js';
import { ImageService } from '../core/image-service.js';
import { parseImageAt } from '../core/image-names.js';
import { signaturePolicyFor } from './policy-wiring.js';
import { storageTransportFor } from './storage-wiring.js';
import { credentialStoreFor, distributionTransportFor, registriesConfigFor } from './registry-wiring.js';
import { dockerDaemonTransportFor } from './daemon-wiring.js';
import { type ProxyOptions } from './options.js';
import { Tokens } from './tokens.js';
import { FetchBlob } from '../core/use-cases/fetch-blob.js';
import { LayerKeys } from '../core/use-cases/layer-keys.js';
import { ResolveManifest } from '../core/use-cases/resolve-manifest.js';

/**
 * Replacements for any port: a test suite serving an alternative registry passes `transports`
 * (an adapter with the same name replaces the built-in one), a custom credential helper passes
 * `credentials`, and so on. Anything not given gets the built-in adapter.
 */
export interface PortOverrides {
  readonly transports?: readonly Transport[];
  readonly credentials?: CredentialStore;
  readonly registries?: RegistriesConfig;
  readonly policy?: SignaturePolicy;
  /** Where upstream requests, pull sources, authentication and policy decisions are recorded; nowhere by default. */
  readonly log?: Log;
  /** What opens encrypted layers' keys; by default, unwrappers for `options.decryptionKeys`. */
  readonly keyUnwrappers?: readonly KeyUnwrapper[];
}

/**
 * The composition root: the only place that knows which adapter implements which port.
 * Async because the signature policy is read up front — an unreadable or missing policy
 * must stop the proxy before it serves anything.
 */
export async function buildContainer(options: ProxyOptions, overrides: PortOverrides = {}): Promise<Container> {
  const container = new Container({ defaultScope: 'Singleton' });
  const log = overrides.log ?? SILENT_LOG;
  container.bind<Log>(Tokens.Log).toConstantValue(log);

  // The credential chain reads registries.conf (`credential-helpers`), so that comes first.
  const registries = overrides.registries ?? registriesConfigFor(options);
  const credentials = overrides.credentials ?? credentialStoreFor(options, registries);
  container.bind<CredentialStore>(Tokens.CredentialStore).toConstantValue(credentials);

  const transports = new Map<string, Transport>();
  const builtIn = [new OciLayoutTransport(), new DirTransport(), new OciArchiveTransport(), new DockerArchiveTransport(), storageTransportFor(options), distributionTransportFor(options, credentials, log), dockerDaemonTransportFor(options)];
  for (const transport of [...builtIn, ...(overrides.transports ?? [])]) transports.set(transport.name, transport);
  for (const transport of transports.values()) container.bind<Transport>(Tokens.Transport).toConstantValue(transport);

  container.bind<RegistriesConfig>(Tokens.RegistriesConfig).toConstantValue(registries);
  container.bind<SignaturePolicy>(Tokens.SignaturePolicy).toConstantValue(overrides.policy ?? (await signaturePolicyFor(options)));
  container.bind<readonly Platform[]>(Tokens.WantedPlatforms).toConstantValue(platformsFor(options));

  container
    .bind(Tokens.ResolveManifest)
    .toResolvedValue(
      (all: Transport[], registries: RegistriesConfig, policy: SignaturePolicy, platforms: readonly Platform[], log: Log) =>
        new ResolveManifest({ transports: new Map(all.map((t) => [t.name, t])), registries, policy, platforms, log }),
      [{ serviceIdentifier: Tokens.Transport, isMultiple: true }, Tokens.RegistriesConfig, Tokens.SignaturePolicy, Tokens.WantedPlatforms, Tokens.Log],
    );
  const layerKeys = new LayerKeys(overrides.keyUnwrappers ?? keyUnwrappersFor(options.decryptionKeys ?? []));
  container.bind(Tokens.FetchBlob).toResolvedValue(() => new FetchBlob(layerKeys));
  container
    .bind<ImageApi>(Tokens.ImageApi)
    .toResolvedValue(
      (resolve: ResolveManifest, fetch: FetchBlob) => new ImageService(options.image, (name) => parseImageAt(name, options.cwd), resolve, fetch, layerKeys),
      [Tokens.ResolveManifest, Tokens.FetchBlob],
    );
  return container;
}

function platformsFor(options: ProxyOptions): Platform[] {
  const host = options.hostPlatform ?? detectHostPlatform();
  return wantedPlatforms(host, options.platform, host.variant);
}
