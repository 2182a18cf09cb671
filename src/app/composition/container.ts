import 'reflect-metadata';
import { Container, type MapToResolvedValueInjectOptions } from 'inversify';
import { type Platform, wantedPlatforms } from '../../domain/platform.js';
import { type TransportName } from '../../domain/reference.js';
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
import { parseImageAt } from '../core/image-names.js';
import { ImageService } from '../core/image-service.js';
import { FetchBlob } from '../core/use-cases/fetch-blob.js';
import { LayerKeys } from '../core/use-cases/layer-keys.js';
import { ResolveManifest } from '../core/use-cases/resolve-manifest.js';
import { dockerDaemonTransportFor } from './daemon-wiring.js';
import { keyUnwrappersFor } from './decryption-wiring.js';
import { detectHostPlatform } from './host-platform.js';
import { type ProxyOptions } from './options.js';
import { signaturePolicyFor } from './policy-wiring.js';
import { credentialStoreFor, distributionTransportFor, registriesConfigFor } from './registry-wiring.js';
import { storageTransportFor } from './storage-wiring.js';
import { Tokens } from './tokens.js';

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
 * The image API the proxy serves, built from plain options with any port replaced: the typed
 * entry for a program that embeds the proxy or tests against alternative adapters. Async because
 * the signature policy is read up front — an unreadable or missing policy must stop the proxy
 * before it serves anything.
 */
export async function createImageApi(options: ProxyOptions, overrides: PortOverrides = {}): Promise<ImageApi> {
  return buildContainer(options, overrides).getAsync<ImageApi>(Tokens.ImageApi);
}

/**
 * The composition root: the only place that knows which adapter implements which port. Each
 * binding is a factory naming what it needs, so the container builds the chain (registries.conf
 * → credentials → the docker transport; key unwrappers → layer keys → the use cases) in
 * whatever order the graph asks; an override replaces a binding's factory with the given port.
 */
function buildContainer(options: ProxyOptions, overrides: PortOverrides): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  function bindPort<T, Args extends unknown[]>(
    token: symbol,
    given: T | undefined,
    factory: (...args: Args) => T | Promise<T>,
    needs: MapToResolvedValueInjectOptions<Args>,
  ): void {
    if (given !== undefined) container.bind<T>(token).toConstantValue(given);
    else container.bind<T>(token).toResolvedValue(factory, needs);
  }

  container.bind<ProxyOptions>(Tokens.Options).toConstantValue(options);
  container.bind<Log>(Tokens.Log).toConstantValue(overrides.log ?? SILENT_LOG);
  bindPort<RegistriesConfig, [ProxyOptions]>(Tokens.RegistriesConfig, overrides.registries, registriesConfigFor, [Tokens.Options]);
  // The credential chain reads registries.conf's `credential-helpers`.
  bindPort<CredentialStore, [ProxyOptions, RegistriesConfig]>(Tokens.CredentialStore, overrides.credentials, credentialStoreFor, [
    Tokens.Options,
    Tokens.RegistriesConfig,
  ]);
  bindPort<SignaturePolicy, [ProxyOptions]>(Tokens.SignaturePolicy, overrides.policy, signaturePolicyFor, [Tokens.Options]);
  bindPort<readonly KeyUnwrapper[], [ProxyOptions]>(Tokens.KeyUnwrappers, overrides.keyUnwrappers, (o) => keyUnwrappersFor(o.decryptionKeys ?? []), [
    Tokens.Options,
  ]);
  container.bind<readonly Platform[]>(Tokens.WantedPlatforms).toResolvedValue(platformsFor, [Tokens.Options]);

  // Transport is multi-bound: the built-in adapters, each unless an override takes its name.
  const given = new Map((overrides.transports ?? []).map((transport) => [transport.name, transport]));
  function bindTransport<Args extends unknown[]>(
    name: TransportName,
    factory: (...args: Args) => Transport,
    needs: MapToResolvedValueInjectOptions<Args>,
  ): void {
    if (!given.has(name)) container.bind<Transport>(Tokens.Transport).toResolvedValue(factory, needs);
  }
  bindTransport('oci', () => new OciLayoutTransport(), []);
  bindTransport('dir', () => new DirTransport(), []);
  bindTransport('oci-archive', () => new OciArchiveTransport(), []);
  bindTransport('docker-archive', () => new DockerArchiveTransport(), []);
  bindTransport<[ProxyOptions, readonly Platform[]]>('containers-storage', storageTransportFor, [Tokens.Options, Tokens.WantedPlatforms]);
  bindTransport<[ProxyOptions, CredentialStore, Log]>('docker', distributionTransportFor, [Tokens.Options, Tokens.CredentialStore, Tokens.Log]);
  bindTransport<[ProxyOptions]>('docker-daemon', dockerDaemonTransportFor, [Tokens.Options]);
  for (const transport of given.values()) container.bind<Transport>(Tokens.Transport).toConstantValue(transport);

  container
    .bind(Tokens.ResolveManifest)
    .toResolvedValue(
      (all: Transport[], registries: RegistriesConfig, policy: SignaturePolicy, platforms: readonly Platform[], log: Log) =>
        new ResolveManifest({ transports: new Map(all.map((t) => [t.name, t])), registries, policy, platforms, log }),
      [{ serviceIdentifier: Tokens.Transport, isMultiple: true }, Tokens.RegistriesConfig, Tokens.SignaturePolicy, Tokens.WantedPlatforms, Tokens.Log],
    );
  container.bind(Tokens.LayerKeys).toResolvedValue((unwrappers: readonly KeyUnwrapper[]) => new LayerKeys(unwrappers), [Tokens.KeyUnwrappers]);
  container.bind(Tokens.FetchBlob).toResolvedValue((keys: LayerKeys) => new FetchBlob(keys), [Tokens.LayerKeys]);
  container
    .bind<ImageApi>(Tokens.ImageApi)
    .toResolvedValue(
      (o: ProxyOptions, resolve: ResolveManifest, fetch: FetchBlob, keys: LayerKeys) =>
        new ImageService(o.image, (name) => parseImageAt(name, o.cwd), resolve, fetch, keys),
      [Tokens.Options, Tokens.ResolveManifest, Tokens.FetchBlob, Tokens.LayerKeys],
    );
  return container;
}

function platformsFor(options: ProxyOptions): Platform[] {
  const host = options.hostPlatform ?? detectHostPlatform();
  return wantedPlatforms(host, options.platform, host.variant);
}
