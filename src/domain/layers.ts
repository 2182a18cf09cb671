import { type Digest, isDigest } from './digest.js';
import { ProxyError } from './errors.js';
import { type Descriptor } from './manifest.js';
import { MediaType } from './media-types.js';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** What a client needs to know about each layer without parsing manifest and config itself. */
export interface LayerInfo {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly compression: LayerCompression;
  /** Digest of the uncompressed tar, from the config's rootfs.diff_ids; absent for non-image artifacts. */
  readonly diffID?: Digest | undefined;
}

const GZIP_TYPES: ReadonlySet<string> = new Set([MediaType.ociLayerGzip, MediaType.ociForeignLayerGzip, MediaType.dockerLayerGzip, MediaType.dockerForeignLayerGzip]);
const ZSTD_TYPES: ReadonlySet<string> = new Set([MediaType.ociLayerZstd, MediaType.ociForeignLayerZstd, MediaType.dockerLayerZstd]);

/** Compression as the media type declares it; anything not declared compressed is served as is. */
export function layerCompression(mediaType: string): LayerCompression {
  if (GZIP_TYPES.has(mediaType)) return 'gzip';
  if (ZSTD_TYPES.has(mediaType)) return 'zstd';
  return 'none';
}

/** Pairs each layer with its diff ID: the config lists them in layer order. */
export function describeLayers(layers: readonly Descriptor[], config: Uint8Array): LayerInfo[] {
  const diffIDs = configDiffIDs(config);
  if (diffIDs !== undefined && diffIDs.length !== layers.length) {
    throw new ProxyError('manifest-invalid', `the config lists ${diffIDs.length} diff_ids for ${layers.length} layers`);
  }
  return layers.map((layer, i) => ({
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    compression: layerCompression(layer.mediaType),
    diffID: diffIDs?.[i],
  }));
}

function configDiffIDs(config: Uint8Array): Digest[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(config).toString('utf8'));
  } catch {
    return undefined; // not a JSON image config (an artifact): no diff IDs to offer
  }
  const rootfs = (parsed as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs;
  if (rootfs?.diff_ids === undefined || rootfs.diff_ids === null) return undefined;
  const ids = rootfs.diff_ids;
  if (!Array.isArray(ids) || !ids.every((id): id is Digest => typeof id === 'string' && isDigest(id))) {
    throw new ProxyError('manifest-invalid', 'the config has a malformed rootfs.diff_ids');
  }
  return ids;
}
