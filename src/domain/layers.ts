import { type Digest, isDigest } from './digest.js';
import { GoTypes as T, goUnmarshal, type GoStruct } from './go-json.js';
import { decryptedMediaType } from './layer-encryption.js';
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
  /**
   * Why the config gives this layer no usable diff ID (too few `diff_ids`, a null or malformed
   * entry). Only what needs the diff ID fails for such a layer, as in containers/image.
   */
  readonly diffIDError?: string | undefined;
  /** Present, and true, for an encrypted layer (`…+encrypted`); `compression` is then its plaintext's. */
  readonly encrypted?: true | undefined;
  /** For an encrypted layer: whether one of the decryption keys opens it. */
  readonly decryptable?: boolean | undefined;
  /** Present, and true, for a zstd:chunked layer: annotated with its table of contents' checksum. */
  readonly zstdChunked?: true | undefined;
}

const GZIP_TYPES: ReadonlySet<string> = new Set([
  MediaType.ociLayerGzip,
  MediaType.ociForeignLayerGzip,
  MediaType.dockerLayerGzip,
  MediaType.dockerForeignLayerGzip,
]);
const ZSTD_TYPES: ReadonlySet<string> = new Set([MediaType.ociLayerZstd, MediaType.ociForeignLayerZstd, MediaType.dockerLayerZstd]);

/**
 * The annotation containers/storage reads to pull a layer as zstd:chunked (the digest of its
 * table of contents), under its current name and the one writers used before (skopeo 1.9.3).
 */
const ZSTD_CHUNKED_ANNOTATIONS = ['io.github.containers.zstd-chunked.manifest-checksum', 'io.containers.zstd-chunked.manifest-checksum'];

/** Compression as the media type declares it (an encrypted layer's: its plaintext's); anything not declared compressed is served as is. */
export function layerCompression(mediaType: string): LayerCompression {
  const plain = decryptedMediaType(mediaType);
  if (GZIP_TYPES.has(plain)) return 'gzip';
  if (ZSTD_TYPES.has(plain)) return 'zstd';
  return 'none';
}

/** What containers/image's compression detection (pkg/compression) recognises from the first bytes. */
export type DetectedCompression = LayerCompression | 'bzip2' | 'xz';

const MAGIC: readonly (readonly [DetectedCompression, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/** How many leading bytes detection needs (the longest magic number, xz's). */
export const MAGIC_LENGTH = 6;

/** The compression the content itself shows; a head shorter than a magic number never matches it. */
export function detectCompression(head: Uint8Array): DetectedCompression {
  for (const [name, magic] of MAGIC) {
    if (magic.every((byte, i) => head[i] === byte)) return name;
  }
  return 'none';
}

/**
 * Pairs each layer with the diff ID at its position in the config's `rootfs.diff_ids`. A layer
 * without a usable entry gets a `diffIDError` instead of failing the image: containers/image
 * converts and copies such images and only refuses the diff ID where it needs it.
 */
export function describeLayers(layers: readonly Descriptor[], config: Uint8Array): LayerInfo[] {
  const diffIDs = configDiffIDs(config);
  return layers.map((layer, i) => ({
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    compression: layerCompression(layer.mediaType),
    ...(diffIDs === undefined ? {} : diffIDOf(diffIDs, i, layers.length)),
    ...(ZSTD_CHUNKED_ANNOTATIONS.some((key) => layer.annotations?.[key] !== undefined) ? { zstdChunked: true as const } : {}),
  }));
}

type DiffIDs = readonly unknown[] | { readonly problem: string };

function diffIDOf(diffIDs: DiffIDs, i: number, layerCount: number): Pick<LayerInfo, 'diffID' | 'diffIDError'> {
  if (!Array.isArray(diffIDs)) return { diffIDError: (diffIDs as { problem: string }).problem };
  if (i >= diffIDs.length) return { diffIDError: `the config lists ${diffIDs.length} rootfs.diff_ids for ${layerCount} layers, none for layer ${i}` };
  const entry: unknown = diffIDs[i];
  if (typeof entry === 'string' && isDigest(entry)) return { diffID: entry };
  return { diffIDError: `the config's rootfs.diff_ids[${i}] is ${entry === null ? 'null' : entry === '' ? 'empty' : 'not a digest'}` };
}

const ROOTFS = T.struct({ key: 'rootfs', type: T.struct({ key: 'diff_ids', type: T.slice(T.any) }) });

/** The config's diff_ids as Go decodes them (keys case-insensitively); undefined when there are none to offer. */
function configDiffIDs(config: Uint8Array): DiffIDs | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(config).toString('utf8'));
  } catch {
    return undefined; // not a JSON image config (an artifact): no diff IDs to offer
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  let decoded: GoStruct;
  try {
    decoded = goUnmarshal(config, ROOTFS) as GoStruct;
  } catch (err) {
    return { problem: `the config's rootfs.diff_ids cannot be read: ${(err as Error).message}` };
  }
  return ((decoded['rootfs'] as GoStruct)['diff_ids'] as unknown[] | null) ?? undefined;
}
