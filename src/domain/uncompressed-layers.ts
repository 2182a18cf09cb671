import { type Digest } from './digest.js';
import { ProxyError } from './errors.js';
import { GoTypes as T, goMarshal, goUnmarshal, type GoStruct } from './go-json.js';
import { MediaType } from './media-types.js';

/** A layer as a source can actually serve it: its uncompressed tar, named by its diff ID. */
export interface PhysicalLayer {
  readonly digest: Digest;
  readonly size: number;
}

// image-spec v1.1's Manifest and Descriptor (specs-go/v1), the structs containers/image
// re-serializes a manifest through when it updates layer infos.
const PLATFORM = T.struct(
  { key: 'architecture', type: T.string },
  { key: 'os', type: T.string },
  { key: 'os.version', type: T.string, omitempty: true },
  { key: 'os.features', type: T.slice(T.string), omitempty: true },
  { key: 'variant', type: T.string, omitempty: true },
);
const DESCRIPTOR = T.struct(
  { key: 'mediaType', type: T.string },
  { key: 'digest', type: T.string },
  { key: 'size', type: T.int },
  { key: 'urls', type: T.slice(T.string), omitempty: true },
  { key: 'annotations', type: T.map(T.string), omitempty: true },
  { key: 'data', type: T.string, omitempty: true },
  { key: 'platform', type: T.ptr(PLATFORM), omitempty: true },
  { key: 'artifactType', type: T.string, omitempty: true },
);
const MANIFEST = T.struct(
  { key: 'schemaVersion', type: T.int },
  { key: 'mediaType', type: T.string, omitempty: true },
  { key: 'artifactType', type: T.string, omitempty: true },
  { key: 'config', type: DESCRIPTOR },
  { key: 'layers', type: T.slice(DESCRIPTOR) },
  { key: 'subject', type: T.ptr(DESCRIPTOR), omitempty: true },
  { key: 'annotations', type: T.map(T.string), omitempty: true },
);

/**
 * An OCI manifest whose layers are replaced, in order, by the uncompressed tars a local store
 * keeps (containers/image's storage source: LayerInfosForCopy, then UpdateLayerInfos). Each layer
 * becomes `application/vnd.oci.image.layer.v1.tar` with the diff ID and uncompressed size; its
 * annotations and URLs go, since they described the compressed blob (zstd:chunked tables among
 * them). The media type says what the bytes are, where skopeo's copy keeps the compressed one.
 */
export function withUncompressedLayers(ociManifest: Uint8Array, layers: readonly PhysicalLayer[]): Uint8Array {
  const manifest = goUnmarshal(ociManifest, MANIFEST) as GoStruct & { layers: GoStruct[] | null };
  const stored = manifest.layers ?? [];
  if (stored.length !== layers.length) {
    throw new ProxyError('manifest-invalid', `the manifest lists ${stored.length} layers, the store keeps ${layers.length} for the image`);
  }
  const replaced = layers.map((layer) => ({
    mediaType: MediaType.ociLayerTar,
    digest: layer.digest,
    size: layer.size,
    urls: null,
    annotations: null,
    data: '',
    platform: null,
    artifactType: '',
  }));
  return goMarshal({ ...manifest, layers: replaced }, MANIFEST);
}
