import { type Digest, digestAlgorithm, digestOf } from '../../../domain/digest.js';
import { isProxyError, ProxyError } from '../../../domain/errors.js';
import { MAX_CONFIG_BYTES } from '../../../domain/size-limits.js';
import { type Descriptor, parseManifest, type ParsedManifest } from '../../../domain/manifest.js';
import { convertSchema2ToOci } from '../../../domain/oci-conversion.js';
import { isEncryptedMediaType } from '../../../domain/layer-encryption.js';
import { describeLayers, type LayerInfo } from '../../../domain/layers.js';
import { MediaType } from '../../../domain/media-types.js';
import { chooseInstance, type Platform } from '../../../domain/platform.js';
import { formatImageName, type ImageReference } from '../../../domain/reference.js';
import { type Log } from '../../../ports/log.js';
import { type RegistriesConfig } from '../../../ports/registries-config.js';
import { type PolicySubject, type PolicyVerdict, type SignaturePolicy } from '../../../ports/signature-policy.js';
import { type ImageSource, type RawManifest, type Transport } from '../../../ports/transport.js';
import { readVerified } from './read-verified.js';
import { openFirstSource } from './open-source.js';
import { servedLayers } from './served-layers.js';

/** One image, resolved for one platform, in OCI form, allowed by policy. */
export interface ResolvedImage {
  readonly source: ImageSource;
  /** Digest of the manifest the reference names (the list's, for a list). */
  readonly manifestDigest: Digest;
  /** Digest of the per-platform manifest the OCI body was made from. */
  readonly instanceDigest: Digest;
  readonly ociManifest: Uint8Array;
  readonly ociConfig: Uint8Array;
  /** Config digest as the OCI manifest states it (differs from the source's after conversion). */
  readonly configDigest: Digest;
  /** The layers as the OCI manifest and config describe them, in order (compression as typed: `/layers` asks the source). */
  readonly layerInfos: readonly LayerInfo[];
  /** Layers by digest: the source's descriptor (to fetch it) and the OCI view (to describe it). */
  readonly layers: ReadonlyMap<Digest, ImageLayer>;
  /** Why the signature policy allowed it. */
  readonly policyVerdict: PolicyVerdict;
  /** Layer digests of the stored manifest the source no longer has as bytes, and the digest it serves each as. */
  readonly replacedLayers?: ReadonlyMap<Digest, Digest>;
}

export interface ImageLayer {
  readonly source: Descriptor;
  readonly info: LayerInfo;
}

export interface ResolveManifestDeps {
  readonly transports: ReadonlyMap<string, Transport>;
  readonly registries: RegistriesConfig;
  readonly policy: SignaturePolicy;
  readonly platforms: readonly Platform[];
  readonly log: Log;
}

/**
 * Finds the image, picks the instance for the wanted platform, enforces the signature policy,
 * and produces the OCI manifest and config — all before any byte is served.
 */
export class ResolveManifest {
  constructor(private readonly deps: ResolveManifestDeps) {}

  async execute(reference: ImageReference, signal?: AbortSignal): Promise<ResolvedImage> {
    const name = formatImageName(reference);
    const { source, manifest } = await openFirstSource(reference, this.deps.transports, this.deps.registries, this.deps.log, signal);
    try {
      const top = parse(manifest, name);
      let instance: { raw: RawManifest; parsed: ParsedManifest; digest: Digest } = { raw: manifest, parsed: top, digest: manifest.digest };
      let chosenFromList = false;
      if (top.kind === 'oci-index' || top.kind === 'docker-list') {
        const descriptor = chooseInstance(top, this.deps.platforms);
        const raw = await source.manifest(descriptor.digest, signal);
        const digest = digestOf(raw.bytes, digestAlgorithm(descriptor.digest));
        if (digest !== descriptor.digest) {
          throw new ProxyError('digest-mismatch', `${name}: instance manifest ${descriptor.digest} hashes to ${digest}`);
        }
        const parsed = parse({ ...raw, mediaType: raw.mediaType || descriptor.mediaType }, name);
        if (parsed.kind === 'oci-index' || parsed.kind === 'docker-list') {
          throw new ProxyError('manifest-invalid', `${name}: instance ${descriptor.digest} of the manifest list is itself a list`);
        }
        instance = { raw, parsed, digest };
        chosenFromList = true;
      }

      // A local store's reference is complete (store, image ID) only once opened; its scopes need that.
      const logical = reference.transport === 'containers-storage' ? source.reference : reference;
      const policyVerdict = await checkPolicy(
        this.deps,
        { reference: logical, source, manifest, instance: chosenFromList ? { ...instance.raw, digest: instance.digest } : undefined },
        signal,
      );

      const oci = await servedLayers(source, instance.digest, await toOci(source, instance.raw, instance.parsed, name, signal), signal);
      return { source, manifestDigest: manifest.digest, instanceDigest: instance.digest, ...oci, policyVerdict };
    } catch (err) {
      await source.close().catch(() => undefined);
      throw err;
    }
  }
}

/** The policy's verdict, logged either way: which scope and requirements applied, which keys verified. */
async function checkPolicy(deps: ResolveManifestDeps, subject: PolicySubject, signal?: AbortSignal): Promise<PolicyVerdict> {
  const image = formatImageName(subject.reference);
  let verdict: PolicyVerdict;
  try {
    verdict = await deps.policy.check(subject, signal);
  } catch (err) {
    if (isProxyError(err, 'policy-rejected'))
      deps.log.record('info', 'policy', `${image}: rejected: ${err.message}`, { image, allowed: false, reason: err.message });
    throw err;
  }
  const requirements = verdict.requirements.map((r) => r.type);
  const keys = verdict.signatures.filter((s) => s.verified).map((s) => s.keyFingerprint ?? s.certificateIdentity ?? 'unknown');
  const scope = verdict.scope === undefined ? '' : `, scope ${verdict.scope}`;
  const signed = keys.length === 0 ? '' : `, signed by ${keys.join(', ')}`;
  deps.log.record('info', 'policy', `${image}: allowed by ${verdict.policy}${scope}: ${requirements.join(', ') || 'no requirement'}${signed}`, {
    image,
    allowed: true,
    policy: verdict.policy,
    scope: verdict.scope,
    requirements,
    keys,
  });
  return verdict;
}

function parse(raw: RawManifest, name: string): ParsedManifest {
  const parsed = parseManifest(raw.bytes, raw.mediaType);
  if (parsed.kind === 'docker-schema1') {
    throw new ProxyError('manifest-unsupported', `${name}: docker schema1 manifests are not supported; convert the image to schema2 or OCI`);
  }
  return parsed;
}

async function toOci(
  source: ImageSource,
  raw: RawManifest,
  parsed: ParsedManifest,
  name: string,
  signal?: AbortSignal,
): Promise<Pick<ResolvedImage, 'ociManifest' | 'ociConfig' | 'configDigest' | 'layers' | 'layerInfos'>> {
  if (parsed.kind !== 'oci-manifest' && parsed.kind !== 'docker-schema2') {
    throw new ProxyError('manifest-unsupported', `${name}: unexpected manifest kind ${parsed.kind}`);
  }
  if (parsed.config.size > MAX_CONFIG_BYTES) {
    throw new ProxyError(
      'manifest-invalid',
      `${name}: config ${parsed.config.digest} is ${parsed.config.size} bytes, more than the ${MAX_CONFIG_BYTES} allowed`,
    );
  }
  const configBody = await source.blob(parsed.config, signal);
  const config = await readVerified(configBody.stream, parsed.config, `config ${parsed.config.digest} of ${name}`);
  const oci =
    parsed.kind === 'oci-manifest'
      ? { ociManifest: raw.bytes, ociConfig: config, configDigest: parsed.config.digest, ociLayers: parsed.layers }
      : convertedToOci(raw.bytes, config);
  const layerInfos = describeLayers(oci.ociLayers, oci.ociConfig);
  const layers = new Map(parsed.layers.map((source, i) => [source.digest, { source, info: layerInfos[i]! }] as const));
  return { ociManifest: oci.ociManifest, ociConfig: oci.ociConfig, configDigest: oci.configDigest, layerInfos, layers };
}

/**
 * The compression the source knows its layers are served with, where it knows better than the
 * media type. Only `/layers` reports it (a decompressed read detects from the bytes it streams),
 * so it is worked out on that request, not when the image is resolved: a local source opens
 * every layer file for it.
 */
export async function withServedCompression(
  source: ImageSource,
  layers: readonly Descriptor[],
  infos: readonly LayerInfo[],
  signal?: AbortSignal,
): Promise<LayerInfo[]> {
  if (source.layerCompression === undefined) return [...infos];
  // An encrypted layer's first bytes are ciphertext: its media type is all there is to go by.
  const served = await Promise.all(layers.map((layer) => (isEncryptedMediaType(layer.mediaType) ? undefined : source.layerCompression!(layer, signal))));
  return infos.map((info, i) => ({ ...info, compression: served[i] ?? info.compression }));
}

function convertedToOci(manifest: Uint8Array, config: Uint8Array) {
  const converted = convertSchema2ToOci(manifest, config);
  const ociLayers = (parseManifest(converted.manifest, MediaType.ociManifest) as Extract<ParsedManifest, { kind: 'oci-manifest' }>).layers;
  return { ociManifest: converted.manifest, ociConfig: converted.config, configDigest: converted.configDigest, ociLayers };
}
