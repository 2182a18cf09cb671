/**
 * Writes fixture images to disk in the two local formats containers/image reads:
 * OCI image layouts (`oci:`) and its own directory format (`dir:`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestAlgorithm, digestHex, type Digest } from '../../src/domain/digest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { artifactBlobs, artifactManifests, ociDescriptor, type FixtureArtifact, type FixtureBlob } from './fixture-builders.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const DIR_VERSION = 'Directory Transport Version: 1.1\n';

export interface OciLayoutEntry {
  readonly artifact: FixtureArtifact;
  /** Written as the `org.opencontainers.image.ref.name` annotation; omitted when undefined. */
  readonly name?: string | undefined;
}

/** Where a layout keeps a blob: `blobs/<algorithm>/<hex>`. */
export function ociBlobPath(layoutDir: string, digest: Digest): string {
  return join(layoutDir, 'blobs', digestAlgorithm(digest), digestHex(digest));
}

/** Where the dir: format keeps a config or layer: `<hex>` (the algorithm is not recorded). */
export function dirBlobPath(imageDir: string, digest: Digest): string {
  return join(imageDir, digestHex(digest));
}

/** Where the dir: format keeps a list's instance manifest: `<hex>.manifest.json`. */
export function dirInstanceManifestPath(imageDir: string, digest: Digest): string {
  return join(imageDir, `${digestHex(digest)}.manifest.json`);
}

/**
 * Writes an OCI layout holding `entries`, in order, as the descriptors of `index.json`.
 * Creates `layoutDir` when needed; blobs shared between entries are written once.
 */
export async function writeOciLayout(layoutDir: string, entries: readonly OciLayoutEntry[]): Promise<void> {
  const blobs = new Map<Digest, FixtureBlob>();
  for (const { artifact } of entries) {
    for (const blob of [...artifactManifests(artifact), ...artifactBlobs(artifact)]) blobs.set(blob.digest, blob);
  }
  const algorithms = new Set([...blobs.keys()].map(digestAlgorithm));
  for (const algorithm of algorithms) await mkdir(join(layoutDir, 'blobs', algorithm), { recursive: true });
  for (const blob of blobs.values()) await writeFile(ociBlobPath(layoutDir, blob.digest), blob.bytes);

  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: entries.map(({ artifact, name }) => ociDescriptor(artifact.manifest, name === undefined ? undefined : { [REF_NAME_ANNOTATION]: name })),
  };
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
}

/** Writes one image (or list with its instances) in containers/image's dir: format. */
export async function writeDirImage(imageDir: string, artifact: FixtureArtifact): Promise<void> {
  await mkdir(imageDir, { recursive: true });
  await writeFile(join(imageDir, 'version'), DIR_VERSION);
  await writeFile(join(imageDir, 'manifest.json'), artifact.manifest.bytes);
  if (artifact.kind === 'list') {
    for (const image of artifact.instances) {
      await writeFile(dirInstanceManifestPath(imageDir, image.manifest.digest), image.manifest.bytes);
    }
  }
  for (const blob of artifactBlobs(artifact)) await writeFile(dirBlobPath(imageDir, blob.digest), blob.bytes);
}
