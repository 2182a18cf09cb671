/**
 * containers-storage: through the real CLI, against stores written by podman and buildah, with
 * skopeo 1.9.3 as the oracle: the manifest digest it reports, the layers and config its `dir:`
 * copy writes (byte for byte), every served digest fetchable and verified. Where skopeo's copy
 * keeps a compressed media type beside uncompressed bytes, the proxy says `tar`: pinned here.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestHex, digestOf, parseDigest } from '../../src/domain/digest.js';
import { detectCompression } from '../../src/domain/layers.js';
import { MediaType } from '../../src/domain/media-types.js';
import { requireRegistryTools } from '../support/registry/install.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../support/registry/skopeo.js';
import { standardFixtures } from '../support/image-fixtures.js';
import { buildLocalImage, type LocalStore, makeStore, removeStore, treeSnapshot } from '../support/local-stores.js';
import { spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';
import { makeStorageImages, type StorageImages } from '../support/storage-images.js';

interface Manifest {
  readonly mediaType?: string;
  readonly config: { readonly digest: string; readonly size: number };
  readonly layers: readonly { readonly mediaType: string; readonly digest: string; readonly size: number }[];
}

interface Oracle {
  readonly digest: string;
  readonly layers: readonly string[];
  readonly dir: string;
  readonly manifest: Manifest;
  readonly config: unknown;
  /** The stored manifest, as `skopeo inspect --raw` prints it. */
  readonly raw: Manifest;
}

describe('end to end: containers-storage', function () {
  this.timeout(300_000);
  let images: StorageImages;
  let env: SkopeoEnvironment;
  let out: string;
  const proxies: ProxyProcess[] = [];
  const oracles = new Map<string, Promise<Oracle>>();
  let snapshotBefore: string;
  const extraStores: LocalStore[] = [];

  before(async function () {
    requireRegistryTools(this);
    images = await makeStorageImages();
    env = makeSkopeoEnvironment();
    out = await mkdtemp(join(tmpdir(), 'storage-e2e-'));
    // skopeo reads the store first; the proxy's sessions come after the snapshot.
    for (const name of Object.values(images.names)) await oracle(`${images.overlay.spec}${name}`);
    await oracle(`${images.vfs.spec}${images.names.mixed}`);
    snapshotBefore = await overlaySnapshot();
  });
  after(async function () {
    await Promise.all(proxies.map((proxy) => proxy.dispose()));
    for (const store of extraStores) await removeStore(store);
    env?.cleanup();
    if (out !== undefined) await rm(out, { recursive: true, force: true });
    await images?.cleanup();
  });

  function overlaySnapshot(): Promise<string> {
    return Promise.all([treeSnapshot(images.overlay.graphRoot), treeSnapshot(images.overlay.runRoot)]).then((parts) => parts.join(' '));
  }

  /** What skopeo reports and writes for the image: inspect's digest and layers, `copy … dir:`'s files. */
  function oracle(reference: string): Promise<Oracle> {
    let answer = oracles.get(reference);
    if (answer === undefined) {
      answer = (async () => {
        const image = `containers-storage:${reference}`;
        const inspected = JSON.parse((await skopeo(env, ['inspect', image])).stdout) as { Digest: string; Layers: string[] };
        const config = JSON.parse((await skopeo(env, ['inspect', '--config', image])).stdout) as unknown;
        const raw = JSON.parse((await skopeo(env, ['inspect', '--raw', image])).stdout) as Manifest;
        const dir = join(out, `oracle-${oracles.size}`);
        await skopeo(env, ['copy', '--quiet', image, `dir:${dir}`]);
        const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
        return { digest: inspected.Digest, layers: inspected.Layers, dir, manifest, config, raw };
      })();
      oracles.set(reference, answer);
    }
    return answer;
  }

  function proxyFor(image: string, args: readonly string[] = ['--insecure-policy'], envOverrides: NodeJS.ProcessEnv = {}): ProxyProcess {
    const proxy = spawnProxy([...args, image], { env: { ...process.env, ...envOverrides } });
    proxies.push(proxy);
    return proxy;
  }

  async function manifestOf(proxy: ProxyProcess): Promise<{ manifest: Manifest; digest: string; instance: string }> {
    const answer = await proxy.request('GET', '/manifest');
    expect(answer.status, `${answer.body.toString()}\n${proxy.stderr()}`).to.equal(200);
    return {
      manifest: JSON.parse(answer.body.toString()) as Manifest,
      digest: String(answer.headers['manifest-digest']),
      instance: String(answer.headers['instance-digest']),
    };
  }

  const kinds = ['mixed', 'docker', 'zstd', 'index', 'built'] as const;
  for (const kind of kinds) {
    it(`serves the ${kind} image as skopeo reports and copies it, every layer verified`, async function () {
      const reference = `${images.overlay.spec}${images.names[kind]}`;
      const expected = await oracle(reference);
      const proxy = proxyFor(`containers-storage:${reference}`);
      const { manifest, digest } = await manifestOf(proxy);
      expect(digest).to.equal(expected.digest);
      expect(manifest.mediaType).to.equal(MediaType.ociManifest);
      // The layers skopeo's dir: copy writes: the uncompressed tars, by diff ID and size.
      expect(manifest.layers.map((l) => [l.digest, l.size])).to.deep.equal(expected.manifest.layers.map((l) => [l.digest, l.size]));
      // What the bytes are, where skopeo keeps the pulled blob's compressed media type.
      expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal(manifest.layers.map(() => MediaType.ociLayerTar));
      const config = await proxy.request('GET', '/config');
      expect(JSON.parse(config.body.toString())).to.deep.equal(expected.config);
      for (const layer of manifest.layers) {
        const blob = await proxy.request('GET', `/blobs/${layer.digest}`);
        expect([blob.status, blob.complete], proxy.stderr()).to.deep.equal([200, true]);
        expect(blob.body.equals(await readFile(join(expected.dir, digestHex(parseDigest(layer.digest)))))).to.equal(true);
        const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
        expect([decompressed.status, digestOf(decompressed.body)]).to.deep.equal([200, layer.digest]);
      }
    });
  }

  it('pins where it differs from skopeo: its dir: copy of a pulled image types the uncompressed layers it writes as compressed', async function () {
    for (const kind of ['mixed', 'docker', 'zstd'] as const) {
      const copied = await oracle(`${images.overlay.spec}${images.names[kind]}`);
      expect(
        copied.raw.layers.map((l) => l.digest),
        kind,
      ).to.deep.equal(copied.layers);
      for (const layer of copied.manifest.layers) {
        const bytes = await readFile(join(copied.dir, digestHex(parseDigest(layer.digest))));
        expect([digestOf(bytes), detectCompression(bytes)], kind).to.deep.equal([layer.digest, 'none']);
        expect(layer.mediaType, kind).to.match(/tar[.+]gzip$|tar\+zstd$/);
      }
    }
  });

  it('answers a layer asked for by its compressed digest with the diff ID to ask for, never with other bytes', async function () {
    const reference = `${images.overlay.spec}${images.names.docker}`;
    const expected = await oracle(reference);
    const proxy = proxyFor(`containers-storage:${reference}`);
    const { manifest } = await manifestOf(proxy);
    const compressed = expected.layers[0]!;
    expect(compressed).to.not.equal(manifest.layers[0]!.digest);
    const answer = await proxy.request('GET', `/blobs/${compressed}`);
    expect(answer.status).to.equal(404);
    const error = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(error.code).to.equal('blob-not-found');
    expect(error.message).to.contain(manifest.layers[0]!.digest);
  });

  it('reads a vfs store the same way', async function () {
    const reference = `${images.vfs.spec}${images.names.mixed}`;
    const expected = await oracle(reference);
    const proxy = proxyFor(`containers-storage:${reference}`);
    const { manifest, digest } = await manifestOf(proxy);
    expect(digest).to.equal(expected.digest);
    expect(manifest.layers.map((l) => l.digest)).to.deep.equal(expected.manifest.layers.map((l) => l.digest));
    for (const layer of manifest.layers) {
      const blob = await proxy.request('GET', `/blobs/${layer.digest}`);
      expect([blob.status, blob.complete, digestOf(blob.body)]).to.deep.equal([200, true, layer.digest]);
    }
  });

  it('finds an image by ID, by unique ID prefix and by NAME@ID, as containers/image resolves them', async function () {
    const expected = await oracle(`${images.overlay.spec}${images.names.built}`);
    for (const reference of [
      images.builtId,
      images.builtId.slice(0, 12),
      `${images.names.built}@${images.builtId}`,
      `localhost/built:1@${images.builtId.slice(0, 8)}`,
    ]) {
      const { digest } = await manifestOf(proxyFor(`containers-storage:${images.overlay.spec}${reference}`));
      expect(digest, reference).to.equal(expected.digest);
    }
  });

  it('normalizes short names as containers/image does: shorty is docker.io/library/shorty:latest, built:1 is not localhost/built:1', async function () {
    const expected = await oracle(`${images.overlay.spec}${images.names.built}`);
    for (const reference of ['shorty', 'shorty:latest', 'docker.io/library/shorty']) {
      const { digest } = await manifestOf(proxyFor(`containers-storage:${images.overlay.spec}${reference}`));
      expect(digest, reference).to.equal(expected.digest);
    }
    const answer = await proxyFor(`containers-storage:${images.overlay.spec}built:1`).request('GET', '/manifest');
    const error = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect([answer.status, error.code]).to.deep.equal([404, 'image-not-found']);
    expect(error.message).to.contain('docker.io/library/built:1');
  });

  it('chooses the platform from a stored index named by its digest, and says which instances the store lacks', async function () {
    const expected = await oracle(`${images.overlay.spec}${images.names.index}`);
    const list = standardFixtures().ociIndex.manifest.digest;
    const byList = `containers-storage:${images.overlay.spec}${images.names.index.replace(/:v1$/, '')}@${list}`;
    const served = await manifestOf(proxyFor(byList, ['--insecure-policy', '--override-arch', 'amd64']));
    expect([served.digest, served.instance]).to.deep.equal([list, expected.digest]);
    const other = await proxyFor(byList, ['--insecure-policy', '--override-arch', 'arm64', '--override-variant', 'v8']).request('GET', '/manifest');
    expect(other.status).to.equal(404);
    expect(JSON.parse(other.body.toString())).to.include({ code: 'image-not-found' });
  });

  it('picks, of the images stored from one index for different platforms, the one for the wanted platform', async function () {
    const index = standardFixtures().ociIndex;
    const byList = `containers-storage:${images.vfs.spec}${images.names.index.replace(/:v1$/, '')}@${index.manifest.digest}`;
    const amd64 = await manifestOf(proxyFor(byList, ['--insecure-policy', '--override-arch', 'amd64']));
    const arm64 = await manifestOf(proxyFor(byList, ['--insecure-policy', '--override-arch', 'arm64', '--override-variant', 'v8']));
    expect([amd64.instance, arm64.instance]).to.deep.equal([index.instances[0]!.manifest.digest, index.instances[1]!.manifest.digest]);
  });

  it('refuses another driver by name', async function () {
    const answer = await proxyFor(`containers-storage:[btrfs@${out}/btrfs-store]localhost/x:1`).request('GET', '/manifest');
    const error = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(error.code).to.equal('unsupported-transport');
    expect(error.message).to.contain('btrfs');
  });

  it('finds the default store and additional image stores through storage.conf', async function () {
    const extra = await makeStore(out, 'extra', 'overlay');
    extraStores.push(extra);
    await buildLocalImage(extra, out, 'localhost/extra:1', { 'extra.txt': 'kept in an additional image store\n' });
    const conf = join(out, 'storage.conf');
    const toml = `[storage]\ndriver = "overlay"\ngraphroot = "${images.overlay.graphRoot}"\nrunroot = "${images.overlay.runRoot}"\n[storage.options]\nadditionalimagestores = ["${extra.graphRoot}"]\n`;
    await writeFile(conf, toml);
    const builtInPrimary = await oracle(`${images.overlay.spec}${images.names.built}`);
    const extraImage = await oracle(`${extra.spec}localhost/extra:1`);
    const primary = await manifestOf(proxyFor(`containers-storage:${images.names.built}`, ['--insecure-policy'], { CONTAINERS_STORAGE_CONF: conf }));
    expect(primary.digest).to.equal(builtInPrimary.digest);
    const proxy = proxyFor('containers-storage:localhost/extra:1', ['--insecure-policy'], { CONTAINERS_STORAGE_CONF: conf });
    const additional = await manifestOf(proxy);
    expect(additional.digest).to.equal(extraImage.digest);
    const layer = additional.manifest.layers[0]!;
    const blob = await proxy.request('GET', `/blobs/${layer.digest}`);
    expect([blob.status, blob.complete, digestOf(blob.body)]).to.deep.equal([200, true, layer.digest]);
  });

  it('reports a malformed storage.conf naming the file', async function () {
    const conf = join(out, 'broken-storage.conf');
    await writeFile(conf, '[storage\ndriver = overlay\n');
    const answer = await proxyFor('containers-storage:localhost/built:1', ['--insecure-policy'], { CONTAINERS_STORAGE_CONF: conf }).request('GET', '/manifest');
    const error = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(error.code).to.equal('config-invalid');
    expect(error.message).to.contain(conf);
  });

  it('leaves the store exactly as it was: every file, mode, owner and modification time', async function () {
    expect(await overlaySnapshot()).to.equal(snapshotBefore);
  });
});
