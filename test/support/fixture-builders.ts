/**
 * Builders for deterministic test images with real content: tar layers (optionally gzip or
 * zstd compressed), configs whose `rootfs.diff_ids` hash the uncompressed tars, and manifests
 * and lists in OCI or docker schema2 form. JSON field order follows the Go structs that
 * containers/image marshals, so the bytes look like what real tools write.
 */
import { gzipSync, zstdCompressSync, constants as zlib } from 'node:zlib';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { type Platform } from '../../src/domain/platform.js';
import { tarArchive, type TarEntry } from './tar.js';

export type Compression = 'gzip' | 'zstd' | 'none';
export type ImageFormat = 'oci' | 'docker';

/** Any content-addressed piece of an image: exact bytes, their digest, their media type. */
export interface FixtureBlob {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

export interface FixtureLayer extends FixtureBlob {
  /** sha256 of the uncompressed tar, as the config's `rootfs.diff_ids` lists it. */
  readonly diffId: Digest;
  readonly compression: Compression;
}

/** A single-platform image: its manifest, config and layers. */
export interface FixtureImage {
  readonly kind: 'image';
  readonly format: ImageFormat;
  readonly platform: Platform;
  readonly manifest: FixtureBlob;
  readonly config: FixtureBlob;
  readonly layers: readonly FixtureLayer[];
}

/** An OCI index or docker manifest list and the images it lists, in list order. */
export interface FixtureList {
  readonly kind: 'list';
  readonly format: ImageFormat;
  readonly manifest: FixtureBlob;
  readonly instances: readonly FixtureImage[];
}

export type FixtureArtifact = FixtureImage | FixtureList;

/** Fixed so that every build gives the same bytes. */
export const FIXTURE_CREATED = '1970-01-01T00:00:00Z';

const LAYER_TYPES: Record<ImageFormat, Partial<Record<Compression, string>>> = {
  oci: { none: MediaType.ociLayerTar, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd },
  // containers/image refuses docker zstd layers while parsing, so no docker zstd type is built.
  docker: { none: MediaType.dockerLayerTar, gzip: MediaType.dockerLayerGzip },
};

export function blobOf(mediaType: string, bytes: Uint8Array): FixtureBlob {
  return { digest: digestOf(bytes), mediaType, bytes };
}

function jsonBlob(mediaType: string, value: unknown): FixtureBlob {
  return blobOf(mediaType, new TextEncoder().encode(JSON.stringify(value)));
}

export function compress(tar: Uint8Array, compression: Compression): Uint8Array {
  switch (compression) {
    case 'none':
      return tar;
    case 'gzip':
      // zlib's gzip header carries no name and mtime 0, like `gzip -n`.
      return gzipSync(tar, { level: 9 });
    case 'zstd':
      return zstdCompressSync(tar, { params: { [zlib.ZSTD_c_compressionLevel]: 3 } });
  }
}

export function makeLayer(entries: readonly TarEntry[], options: { format: ImageFormat; compression: Compression }): FixtureLayer {
  const mediaType = LAYER_TYPES[options.format][options.compression];
  if (mediaType === undefined) throw new Error(`no ${options.compression} layer type for ${options.format} images`);
  const tar = tarArchive(entries);
  return { ...blobOf(mediaType, compress(tar, options.compression)), diffId: digestOf(tar), compression: options.compression };
}

/** A layer made of incompressible, seeded bytes: for streaming and abort tests. */
export function makeLargeLayer(size: number, format: ImageFormat): FixtureLayer {
  const content = new Uint8Array(size);
  let state = 0x2545f491;
  for (let i = 0; i < size; i++) {
    // xorshift32: cheap, deterministic, and gzip cannot shrink it.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    content[i] = state & 0xff;
  }
  return makeLayer([{ path: 'data/' }, { path: 'data/random.bin', content }], { format, compression: 'none' });
}

export interface ImageOptions {
  readonly format: ImageFormat;
  readonly platform: Platform;
  readonly layers: readonly FixtureLayer[];
  /** Recorded as the history's `created_by` for every layer, numbered. */
  readonly createdBy?: string | undefined;
  readonly cmd?: readonly string[] | undefined;
}

export function makeImage(options: ImageOptions): FixtureImage {
  const { format, platform, layers } = options;
  const config = jsonBlob(format === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig, {
    created: FIXTURE_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: options.cmd ?? ['/bin/sh'],
    },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((_, i) => ({ created: FIXTURE_CREATED, created_by: `${options.createdBy ?? 'fixture layer'} #${i + 1}` })),
  });
  const manifest =
    format === 'oci'
      ? jsonBlob(MediaType.ociManifest, {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: ociDescriptor(config),
          layers: layers.map((layer) => ociDescriptor(layer)),
        })
      : jsonBlob(MediaType.dockerSchema2, {
          schemaVersion: 2,
          mediaType: MediaType.dockerSchema2,
          config: dockerDescriptor(config),
          layers: layers.map((layer) => dockerDescriptor(layer)),
        });
  return { kind: 'image', format, platform, manifest, config, layers };
}

export interface ListEntry {
  readonly image: FixtureImage;
  /** Annotations on the index entry (OCI only), e.g. the zstd marker. */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

export function makeList(format: ImageFormat, entries: readonly ListEntry[]): FixtureList {
  for (const { image, annotations } of entries) {
    if (image.format !== format) throw new Error(`a ${format} list cannot hold a ${image.format} image`);
    if (format === 'docker' && annotations !== undefined) throw new Error('docker manifest lists have no annotations');
  }
  const manifest =
    format === 'oci'
      ? jsonBlob(MediaType.ociIndex, {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: entries.map(({ image, annotations }) => ociDescriptor(image.manifest, annotations, image.platform)),
        })
      : jsonBlob(MediaType.dockerList, {
          schemaVersion: 2,
          mediaType: MediaType.dockerList,
          manifests: entries.map(({ image }) => dockerDescriptor(image.manifest, image.platform)),
        });
  return { kind: 'list', format, manifest, instances: entries.map((entry) => entry.image) };
}

export function ociDescriptor(blob: FixtureBlob, annotations?: Readonly<Record<string, string>>, platform?: Platform): Record<string, unknown> {
  return {
    mediaType: blob.mediaType,
    digest: blob.digest,
    size: blob.bytes.length,
    ...(annotations === undefined ? {} : { annotations }),
    ...(platform === undefined ? {} : { platform: platformJson(platform) }),
  };
}

function dockerDescriptor(blob: FixtureBlob, platform?: Platform): Record<string, unknown> {
  return {
    mediaType: blob.mediaType,
    size: blob.bytes.length,
    digest: blob.digest,
    ...(platform === undefined ? {} : { platform: platformJson(platform) }),
  };
}

function platformJson(platform: Platform): Record<string, string> {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
  };
}

/** The manifests an artifact consists of: the top one first, then a list's instances. */
export function artifactManifests(artifact: FixtureArtifact): FixtureBlob[] {
  return artifact.kind === 'image' ? [artifact.manifest] : [artifact.manifest, ...artifact.instances.map((image) => image.manifest)];
}

/** Every config and layer an artifact references, each digest once. */
export function artifactBlobs(artifact: FixtureArtifact): FixtureBlob[] {
  const images = artifact.kind === 'image' ? [artifact] : artifact.instances;
  const byDigest = new Map<Digest, FixtureBlob>();
  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) byDigest.set(blob.digest, blob);
  }
  return [...byDigest.values()];
}
