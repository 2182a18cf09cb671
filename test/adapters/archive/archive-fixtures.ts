/**
 * Archives for the archive transport tests: OCI layouts packed with the system `tar` (so names
 * carry `./` as real tools write them), docker archives written by skopeo in an isolated
 * environment, and what a docker archive must serve (containers/image's view, from skopeo).
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, type Compression, type FixtureImage, type FixtureLayer, type OciLayoutEntry, writeOciLayout } from '../../support/image-fixtures.js';
import { run } from '../../support/registry/processes.js';
import { skopeo, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { skopeoInspectRaw } from '../../support/skopeo-cli.js';

export type ArchiveCompression = 'none' | 'gzip' | 'zstd';

/** skopeo writes the docker archives: without it these tests cannot mean anything, so they fail. */
export function assertSkopeo(): void {
  if (spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).status !== 0)
    throw new Error('skopeo is required to write docker-archive fixtures but is not installed');
}

/** Packs a directory's contents into `file` (entries named `./…`), optionally compressing the whole archive. */
export async function packDirectory(dir: string, file: string, compression: ArchiveCompression = 'none'): Promise<string> {
  await run('tar', ['-C', dir, '-cf', file, '.']);
  if (compression !== 'none') {
    const tar = await readFile(file);
    await writeFile(file, compression === 'gzip' ? gzipSync(tar) : zstdCompressSync(tar));
  }
  return file;
}

/** An oci-archive holding `entries`; `work` is a scratch directory of the test. */
export async function ociArchive(work: string, name: string, entries: readonly OciLayoutEntry[], compression: ArchiveCompression = 'none'): Promise<string> {
  const layout = join(work, `${name}.layout`);
  await writeOciLayout(layout, entries);
  return packDirectory(layout, join(work, `${name}.tar`), compression);
}

/** A docker-archive of one OCI fixture image tagged `tag`, written by `skopeo copy`. */
export async function dockerArchive(env: SkopeoEnvironment, work: string, name: string, image: FixtureImage, tag: string): Promise<string> {
  const layout = join(work, `${name}.layout`);
  await writeOciLayout(layout, [{ artifact: image, name: 'image' }]);
  const file = join(work, `${name}.tar`);
  await skopeo(env, ['copy', '--quiet', `oci:${layout}:image`, `docker-archive:${file}:${tag}`]);
  return file;
}

function uncompress(layer: FixtureLayer): Uint8Array {
  const decoders: Record<Compression, (bytes: Uint8Array) => Uint8Array> = { none: (bytes) => bytes, gzip: gunzipSync, zstd: zstdDecompressSync };
  return decoders[layer.compression](layer.bytes);
}

/**
 * What a docker archive of `image` serves: the manifest containers/image generates (read back
 * with `skopeo inspect --raw`), the same config, and every layer uncompressed (named by its diffID).
 */
export async function servedByDockerArchive(file: string, image: FixtureImage): Promise<FixtureImage> {
  const manifest = await skopeoInspectRaw([`docker-archive:${file}`]);
  const layers = image.layers.map((layer): FixtureLayer => ({
    ...blobOf(MediaType.dockerLayerGzip, uncompress(layer)),
    diffId: layer.diffId,
    compression: 'none',
  }));
  return { ...image, format: 'docker', manifest: blobOf(MediaType.dockerSchema2, manifest), layers };
}
