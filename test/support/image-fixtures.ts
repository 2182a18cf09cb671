/**
 * Deterministic test images with real content, and writers for the local formats.
 *
 * Everything here is built in memory from fixed inputs, so every run (and every machine with the
 * same Node major) gets the same bytes and digests.
 *
 * Data model (fixture-builders.ts):
 * - `FixtureBlob { digest, mediaType, bytes }`: any content-addressed piece.
 * - `FixtureLayer`: a blob plus `diffId` (sha256 of the uncompressed tar) and `compression`.
 * - `FixtureImage { kind: 'image', format, platform, manifest, config, layers }`.
 * - `FixtureList { kind: 'list', format, manifest, instances }` (an OCI index or docker list).
 * - `artifactManifests(a)` / `artifactBlobs(a)`: what a transport must serve for an artifact.
 *
 * Builders: `makeLayer(tarEntries, { format, compression })`, `makeLargeLayer(size, format)`,
 * `makeImage({ format, platform, layers })`, `makeList(format, [{ image, annotations? }])`.
 *
 * Ready-made images: `standardFixtures()` (built once, then shared):
 * - `ociSingle`: linux/amd64 OCI image, one gzip layer and one uncompressed layer.
 * - `dockerSingle`: linux/amd64 docker schema2 image, two gzip layers.
 * - `ociIndex`: OCI index of linux/amd64, linux/arm64/v8, linux/arm/v7 (gzip layers).
 * - `dockerList`: docker manifest list of the same three platforms.
 * - `ociZstdIndex`: OCI index with a gzip and a zstd instance of linux/amd64 (same tar), the
 *   zstd one annotated `io.github.containers.compression.zstd: "true"` as containers/image does.
 * - `ociLarge` / `dockerLarge`: linux/amd64 with a 2 MiB incompressible layer (streaming, abort).
 *
 * Writers (image-writers.ts): `writeOciLayout(dir, [{ artifact, name? }])` writes an OCI layout
 * (`oci-layout`, `index.json` with ref-name annotations, `blobs/sha256/<hex>`);
 * `writeDirImage(dir, artifact)` writes containers/image's dir: format (`version`,
 * `manifest.json`, `<hex>.manifest.json` per list instance, blobs as `<hex>`).
 * `ociBlobPath`, `dirBlobPath` and `dirInstanceManifestPath` locate files, e.g. to corrupt them.
 */
import { type Platform } from '../../src/domain/platform.js';
import {
  makeImage,
  makeLargeLayer,
  makeLayer,
  makeList,
  type FixtureImage,
  type FixtureLayer,
  type FixtureList,
  type ImageFormat,
} from './fixture-builders.js';

export * from './fixture-builders.js';
export * from './image-writers.js';
export { tarArchive, type TarEntry } from './tar.js';

export const ZSTD_ANNOTATION = 'io.github.containers.compression.zstd';

export const PLATFORMS = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armv7: { os: 'linux', architecture: 'arm', variant: 'v7' },
} as const satisfies Record<string, Platform>;

// A type alias (not an interface) so it can be iterated as a record of artifacts.
export type StandardFixtures = {
  readonly ociSingle: FixtureImage;
  readonly dockerSingle: FixtureImage;
  readonly ociIndex: FixtureList;
  readonly dockerList: FixtureList;
  readonly ociZstdIndex: FixtureList;
  readonly ociLarge: FixtureImage;
  readonly dockerLarge: FixtureImage;
};

export const LARGE_LAYER_SIZE = 2 * 1024 * 1024;

let built: StandardFixtures | undefined;

export function standardFixtures(): StandardFixtures {
  built ??= buildStandardFixtures();
  return built;
}

function platformName(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined).join('/');
}

/** A base layer that says which platform and format it belongs to, so every image differs. */
function baseLayer(platform: Platform, format: ImageFormat, compression: 'gzip' | 'zstd'): FixtureLayer {
  return makeLayer(
    [
      { path: 'etc/' },
      { path: 'etc/motd', content: `container-image-proxy test fixture (${format}, ${platformName(platform)})\n` },
      { path: 'etc/os-release', content: 'ID=fixture\nNAME="Fixture Linux"\n' },
    ],
    { format, compression },
  );
}

const appLayerEntries = [
  { path: 'usr/' },
  { path: 'usr/share/' },
  { path: 'usr/share/fixture/' },
  { path: 'usr/share/fixture/README', content: 'A second layer, shared by the fixture images.\n' },
  { path: 'usr/share/fixture/run.sh', content: '#!/bin/sh\necho fixture\n', mode: 0o755 },
];

function platformImage(format: ImageFormat, platform: Platform): FixtureImage {
  return makeImage({
    format,
    platform,
    layers: [baseLayer(platform, format, 'gzip'), makeLayer(appLayerEntries, { format, compression: 'gzip' })],
  });
}

function buildStandardFixtures(): StandardFixtures {
  const platforms = [PLATFORMS.amd64, PLATFORMS.arm64, PLATFORMS.armv7];
  const gzipAmd64 = platformImage('oci', PLATFORMS.amd64);
  const zstdAmd64 = makeImage({
    format: 'oci',
    platform: PLATFORMS.amd64,
    layers: [baseLayer(PLATFORMS.amd64, 'oci', 'zstd'), makeLayer(appLayerEntries, { format: 'oci', compression: 'zstd' })],
  });
  return {
    ociSingle: makeImage({
      format: 'oci',
      platform: PLATFORMS.amd64,
      layers: [baseLayer(PLATFORMS.amd64, 'oci', 'gzip'), makeLayer(appLayerEntries, { format: 'oci', compression: 'none' })],
    }),
    dockerSingle: platformImage('docker', PLATFORMS.amd64),
    ociIndex: makeList(
      'oci',
      platforms.map((platform) => ({ image: platformImage('oci', platform) })),
    ),
    dockerList: makeList(
      'docker',
      platforms.map((platform) => ({ image: platformImage('docker', platform) })),
    ),
    ociZstdIndex: makeList('oci', [{ image: gzipAmd64 }, { image: zstdAmd64, annotations: { [ZSTD_ANNOTATION]: 'true' } }]),
    ociLarge: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [makeLargeLayer(LARGE_LAYER_SIZE, 'oci')] }),
    dockerLarge: makeImage({ format: 'docker', platform: PLATFORMS.amd64, layers: [makeLargeLayer(LARGE_LAYER_SIZE, 'docker')] }),
  };
}
