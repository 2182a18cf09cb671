import { type Digest } from '../../../domain/digest.js';
import { describeLayers, type LayerInfo } from '../../../domain/layers.js';
import { type Descriptor } from '../../../domain/manifest.js';
import { MediaType } from '../../../domain/media-types.js';
import { withUncompressedLayers } from '../../../domain/uncompressed-layers.js';
import { type ImageSource } from '../../../ports/transport.js';

/** The parts of a resolved image that say which blobs it has. */
export interface OciImage {
  readonly ociManifest: Uint8Array;
  readonly ociConfig: Uint8Array;
  readonly configDigest: Digest;
  readonly layerInfos: readonly LayerInfo[];
  readonly layers: ReadonlyMap<Digest, { readonly source: Descriptor; readonly info: LayerInfo }>;
  /** Layer digests of the stored manifest the source no longer has as bytes, and the digest it serves each as. */
  readonly replacedLayers?: ReadonlyMap<Digest, Digest>;
}

/**
 * The OCI image as the source can serve it. A source that keeps layers only uncompressed (a
 * local image store) gets a manifest listing those tars, so every digest in it can be fetched
 * and verified; the stored layer digests are remembered to tell a client which digest to ask
 * for instead. Others are served as their manifest says.
 */
export async function servedLayers(source: ImageSource, instance: Digest, oci: OciImage, signal?: AbortSignal): Promise<OciImage> {
  if (source.uncompressedLayers === undefined) return oci;
  const physical = await source.uncompressedLayers(instance, signal);
  const ociManifest = withUncompressedLayers(oci.ociManifest, physical);
  const descriptors = physical.map((layer) => ({ mediaType: MediaType.ociLayerTar, digest: layer.digest, size: layer.size }));
  const layerInfos = describeLayers(descriptors, oci.ociConfig);
  const layers = new Map(descriptors.map((source, i) => [source.digest, { source, info: layerInfos[i]! }] as const));
  const replacedLayers = new Map<Digest, Digest>();
  for (const [i, info] of oci.layerInfos.entries()) {
    const served = physical[i]!.digest;
    if (info.digest !== served && !layers.has(info.digest)) replacedLayers.set(info.digest, served);
  }
  return { ...oci, ociManifest, layerInfos, layers, replacedLayers };
}
