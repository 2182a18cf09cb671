import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './processes.js';

/**
 * A one-layer OCI image layout, just enough for the harness to prove itself (push, fetch,
 * skopeo copy). The project's real fixtures live in test/support/image-fixtures.ts.
 */

export interface TinyImage {
  readonly dir: string;
  readonly tag: string;
  readonly manifestDigest: string;
  readonly manifestBytes: Buffer;
  readonly configDigest: string;
  readonly layerDigest: string;
  readonly layerSize: number;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function writeBlob(dir: string, bytes: Uint8Array): { digest: string; size: number } {
  const digest = sha256(bytes);
  writeFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  return { digest, size: bytes.length };
}

/** Builds the layout in `dir` from one file `hello.txt` holding `content`; deterministic. */
export async function writeTinyLayout(dir: string, options: { tag?: string; content?: string } = {}): Promise<TinyImage> {
  const tag = options.tag ?? 'v1';
  const root = join(dir, 'rootfs');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(dir, 'layout', 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(root, 'hello.txt'), options.content ?? 'hello from the registry harness\n');
  const tarPath = join(dir, 'layer.tar');
  await run('tar', ['--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', root, '-cf', tarPath, '.']);
  const tar = readFileSync(tarPath);
  const layout = join(dir, 'layout');

  // node's gzip writes mtime 0 and no file name, like `gzip -n`.
  const layer = writeBlob(layout, gzipSync(tar));
  const config = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'registry harness' }],
      }),
    ),
  );
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const manifest = writeBlob(layout, manifestBytes);
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir: layout, tag, manifestDigest: manifest.digest, manifestBytes, configDigest: config.digest, layerDigest: layer.digest, layerSize: layer.size };
}
