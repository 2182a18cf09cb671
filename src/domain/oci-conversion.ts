import { digestAlgorithm, digestOf, type Digest } from './digest.js';
import { ProxyError } from './errors.js';
import { GoTypes as T, goMarshal, goUnmarshal } from './go-json.js';
import { parseManifest } from './manifest.js';
import { MediaType } from './media-types.js';

/**
 * image-spec v1.1.1's `Image` (specs-go/v1/config.go), the struct containers/image decodes a
 * docker config into: field order, JSON keys and omitempty tags are what the output is made of.
 * Docker-only fields (container_config, Healthcheck, Shell, OnBuild, …) have no place in it and
 * vanish.
 */
const IMAGE_CONFIG = T.struct(
  { key: 'User', type: T.string, omitempty: true },
  { key: 'ExposedPorts', type: T.map(T.struct()), omitempty: true },
  { key: 'Env', type: T.slice(T.string), omitempty: true },
  { key: 'Entrypoint', type: T.slice(T.string), omitempty: true },
  { key: 'Cmd', type: T.slice(T.string), omitempty: true },
  { key: 'Volumes', type: T.map(T.struct()), omitempty: true },
  { key: 'WorkingDir', type: T.string, omitempty: true },
  { key: 'Labels', type: T.map(T.string), omitempty: true },
  { key: 'StopSignal', type: T.string, omitempty: true },
  { key: 'ArgsEscaped', type: T.bool, omitempty: true },
);
const OCI_IMAGE = T.struct(
  { key: 'created', type: T.time, omitempty: true },
  { key: 'author', type: T.string, omitempty: true },
  // The embedded Platform struct: its fields sit at the top level, in its own order.
  { key: 'architecture', type: T.string },
  { key: 'os', type: T.string },
  { key: 'os.version', type: T.string, omitempty: true },
  { key: 'os.features', type: T.slice(T.string), omitempty: true },
  { key: 'variant', type: T.string, omitempty: true },
  // A struct is never "empty" to encoding/json, so `config` is always written despite omitempty.
  { key: 'config', type: IMAGE_CONFIG, omitempty: true },
  { key: 'rootfs', type: T.struct({ key: 'type', type: T.string }, { key: 'diff_ids', type: T.slice(T.string) }) },
  {
    key: 'history',
    omitempty: true,
    type: T.slice(
      T.struct(
        { key: 'created', type: T.time, omitempty: true },
        { key: 'created_by', type: T.string, omitempty: true },
        { key: 'author', type: T.string, omitempty: true },
        { key: 'comment', type: T.string, omitempty: true },
        { key: 'empty_layer', type: T.bool, omitempty: true },
      ),
    ),
  },
);

const OCI_DESCRIPTOR = T.struct(
  { key: 'mediaType', type: T.string },
  { key: 'digest', type: T.string },
  { key: 'size', type: T.int },
  { key: 'urls', type: T.slice(T.string), omitempty: true },
);
const OCI_MANIFEST = T.struct(
  { key: 'schemaVersion', type: T.int },
  { key: 'mediaType', type: T.string, omitempty: true },
  { key: 'config', type: OCI_DESCRIPTOR },
  { key: 'layers', type: T.slice(OCI_DESCRIPTOR) },
);

/** Docker layer types and their OCI counterparts (convertToManifestOCI1; zstd as container-libs maps it). */
const LAYER_TYPES: Readonly<Record<string, string>> = {
  [MediaType.dockerForeignLayerTar]: MediaType.ociForeignLayerTar,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociForeignLayerGzip,
  [MediaType.dockerLayerTar]: MediaType.ociLayerTar,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayerZstd]: MediaType.ociLayerZstd,
};

export interface OciConversion {
  readonly manifest: Uint8Array;
  readonly config: Uint8Array;
  readonly configDigest: Digest;
}

/**
 * Converts a docker schema2 image to OCI exactly as containers/image's convertToManifestOCI1
 * does: the config is re-encoded through image-spec's `Image` (so its digest changes), layer
 * media types are mapped, digests, sizes and URLs are kept, and nothing is added.
 */
export function convertSchema2ToOci(manifestBytes: Uint8Array, configBytes: Uint8Array): OciConversion {
  const manifest = parseManifest(manifestBytes, MediaType.dockerSchema2);
  if (manifest.kind !== 'docker-schema2') throw new ProxyError('internal', `expected a docker schema2 manifest, parsed ${manifest.kind}`);
  const actual = digestOf(configBytes, digestAlgorithm(manifest.config.digest));
  if (actual !== manifest.config.digest) {
    throw new ProxyError('digest-mismatch', `config blob digest ${actual} does not match ${manifest.config.digest} in the manifest`);
  }

  let image: unknown;
  try {
    image = goUnmarshal(configBytes, OCI_IMAGE);
  } catch (err) {
    throw new ProxyError(
      'manifest-invalid',
      `config ${manifest.config.digest} cannot be converted to OCI: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const config = goMarshal(image, OCI_IMAGE);
  const configDigest = digestOf(config);

  const layers = manifest.layers.map((layer) => {
    const mediaType = LAYER_TYPES[layer.mediaType];
    if (mediaType === undefined) {
      throw new ProxyError('manifest-invalid', `Unknown media type during manifest conversion: ${JSON.stringify(layer.mediaType)} (layer ${layer.digest})`);
    }
    return { mediaType, digest: layer.digest, size: layer.size, urls: layer.urls ?? null };
  });
  const converted = goMarshal(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length, urls: null },
      layers,
    },
    OCI_MANIFEST,
  );
  return { manifest: converted, config, configDigest };
}
