/**
 * One set of local stores for a suite, written by the real tools: images pushed to a test
 * registry with skopeo and pulled with podman (gzip and uncompressed layers in OCI, docker
 * schema2, zstd, a multi-platform index), and images built with buildah from scratch.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType } from '../../src/domain/media-types.js';
import { standardFixtures } from './image-fixtures.js';
import { writeOciLayout } from './image-writers.js';
import { buildLocalImage, type LocalStore, makeStore, podman, removeStore } from './local-stores.js';
import { pushLayout, RawPusher } from './registry/push.js';
import { startRegistry, type RunningRegistry } from './registry/registry-server.js';

export interface StorageImages {
  readonly work: string;
  readonly registry: RunningRegistry;
  /** The primary, rootful overlay store. */
  readonly overlay: LocalStore;
  /** A vfs store holding `mixed`, and `index` pulled for linux/amd64 and (also tagged `:arm64`) linux/arm64/v8. */
  readonly vfs: LocalStore;
  /** Names in the overlay store, by what they show. */
  readonly names: {
    /** OCI: a gzip layer and an uncompressed one. */
    readonly mixed: string;
    /** Docker schema2, gzip layers. */
    readonly docker: string;
    /** OCI with zstd layers. */
    readonly zstd: string;
    /** Pulled from a three-platform OCI index: the host's instance. */
    readonly index: string;
    /** Built with buildah from scratch. */
    readonly built: string;
  };
  /** The ID of `built`, also tagged `docker.io/library/shorty:latest`. */
  readonly builtId: string;
  cleanup(): Promise<void>;
}

export async function makeStorageImages(): Promise<StorageImages> {
  const work = await mkdtemp(join(tmpdir(), 'storage-images-'));
  const registry = await startRegistry({ kind: 'anonymous' });
  const stores: LocalStore[] = [];
  try {
    const fixtures = standardFixtures();
    const layout = join(work, 'layout');
    await mkdir(layout, { recursive: true });
    await writeOciLayout(layout, [
      { artifact: fixtures.ociSingle, name: 'mixed' },
      { artifact: fixtures.ociIndex, name: 'index' },
    ]);
    const repo = (name: string) => `${registry.host}/fixture/${name}:v1`;
    await pushLayout(registry, layout, 'mixed', 'fixture/mixed', 'v1');
    await new RawPusher(registry).pushArtifact('fixture/docker', 'v1', fixtures.dockerSingle);
    const zstd = fixtures.ociZstdIndex.instances.find((image) => image.layers.some((layer) => layer.mediaType === MediaType.ociLayerZstd));
    if (zstd === undefined) throw new Error('the zstd fixture image is missing');
    await new RawPusher(registry).pushArtifact('fixture/zstd', 'v1', zstd);
    await pushLayout(registry, layout, 'index', 'fixture/index', 'v1', { all: true });

    const overlay = await makeStore(work, 'overlay', 'overlay');
    stores.push(overlay);
    const vfs = await makeStore(work, 'vfs', 'vfs');
    stores.push(vfs);
    for (const name of ['mixed', 'docker', 'zstd', 'index']) await podman(overlay, ['pull', '--quiet', '--tls-verify=false', repo(name)]);
    await podman(vfs, ['pull', '--quiet', '--tls-verify=false', repo('mixed')]);
    // Two images stored from one index, one per platform, both still named in its repository.
    await podman(vfs, ['pull', '--quiet', '--tls-verify=false', '--arch', 'arm64', '--variant', 'v8', repo('index')]);
    await podman(vfs, ['tag', repo('index'), `${registry.host}/fixture/index:arm64`]);
    await podman(vfs, ['pull', '--quiet', '--tls-verify=false', '--arch', 'amd64', repo('index')]);
    const built = 'localhost/built:1';
    const builtId = await buildLocalImage(overlay, work, built, {
      'hello.txt': 'built with buildah from scratch\n',
      'data/numbers.bin': Buffer.alloc(300_000, 7),
      'data/empty': '',
    });
    // containers/image reads a short name as docker.io/library/NAME:latest, never localhost/NAME.
    await podman(overlay, ['tag', built, 'docker.io/library/shorty:latest']);
    return {
      work,
      registry,
      overlay,
      vfs,
      names: { mixed: repo('mixed'), docker: repo('docker'), zstd: repo('zstd'), index: repo('index'), built },
      builtId,
      async cleanup() {
        for (const store of stores) await removeStore(store);
        await registry.stop();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const store of stores) await removeStore(store).catch(() => undefined);
    await registry.stop();
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
