import { randomFillSync } from 'node:crypto';
import { RawPusher } from '../test/support/registry/push.js';
import { type RunningRegistry } from '../test/support/registry/registry-server.js';

/**
 * Benchmark images pushed byte for byte: random (incompressible) uncompressed layers under a
 * hand-made OCI manifest, so every tool moves exactly the same bytes and nothing can compress them.
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

export interface PushedImage {
  /** `docker://HOST/REPO:TAG`. */
  readonly reference: string;
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
}

export function randomBytes(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  // randomFillSync takes at most 2^31-1 bytes at a time.
  for (let offset = 0; offset < size; offset += 1 << 30) randomFillSync(bytes, offset, Math.min(1 << 30, size - offset));
  return bytes;
}

/** Pushes an image whose layers have the given sizes; the layers are made and dropped one at a time. */
export async function pushRandomImage(registry: RunningRegistry, repository: string, tag: string, layerSizes: readonly number[]): Promise<PushedImage> {
  const pusher = new RawPusher(registry);
  try {
    const layers: { digest: string; size: number }[] = [];
    for (const size of layerSizes) layers.push({ digest: await pusher.pushBlob(repository, randomBytes(size)), size });
    // Uncompressed layers: each diff_id is the layer digest, so the config is consistent.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
    const configDigest = await pusher.pushBlob(repository, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
        layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.size })),
      }),
    );
    await pusher.pushManifest(repository, tag, manifest, OCI_MANIFEST);
    return { reference: `docker://${registry.host}/${repository}:${tag}`, layers };
  } finally {
    await pusher.close();
  }
}
