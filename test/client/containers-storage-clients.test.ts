/**
 * The TypeScript, Python and Rust clients reading a containers-storage: image (zstd, gzip and
 * uncompressed layers, stored by skopeo into an overlay store): every layer comes as its
 * uncompressed tar under its diff ID and verifies, and a layer asked for by the digest it was
 * stored from gets blob-not-found naming the diff ID.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ImageProxy, ImageProxyError } from '../../src/client/index.js';
import { requireTool } from '../e2e/e2e-images.js';
import { writeOciLayout } from '../support/image-writers.js';
import { type LocalStore, makeStore, removeStore } from '../support/local-stores.js';
import { lastLines, makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { skopeoOnce } from '../support/registry/skopeo.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { pythonAvailable, runScenario } from './python-driver.js';
import { cargoTest, runExample, rustToolchainMissing } from './rust-cargo.js';

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('clients: a containers-storage: image through the TypeScript, Python and Rust clients', function () {
  this.timeout(120_000);
  let work: string;
  let images: ClientImages;
  let store: LocalStore;
  let image: string;

  before(async function () {
    work = makeTempDir('storage-clients');
    images = await writeClientImages();
    store = await makeStore(work, 'overlay', 'overlay');
    const layout = join(work, 'layout');
    await writeOciLayout(layout, [{ artifact: images.mixed, name: 'mixed' }]);
    await skopeoOnce(['copy', '--quiet', `oci:${layout}:mixed`, `containers-storage:${store.spec}localhost/client/mixed:1`]);
    image = `containers-storage:${store.spec}localhost/client/mixed:1`;
  });
  after(async () => {
    if (store !== undefined) await removeStore(store);
    await images?.cleanup();
    if (work !== undefined) removeTempDir(work);
  });

  const diffIds = () => images.mixed.layers.map((layer) => layer.diffId);

  it('TypeScript: layers are the diff IDs, uncompressed and verified; the stored digest names the one to ask for', async () => {
    const proxy = await ImageProxy.spawn({ image, stderr: 'ignore', args: ['--insecure-policy'] });
    try {
      const { digest } = await proxy.manifest();
      expect(digest).to.equal(images.mixed.manifest.digest);
      const layers = await proxy.layers();
      expect(layers.map((l) => [l.digest, l.diffID, l.compression])).to.deep.equal(diffIds().map((id) => [id, id, 'none']));
      for (const layer of layers) {
        expect(sha256(await collect(await proxy.blob(layer.digest)))).to.equal(layer.digest);
        expect(sha256(await collect(await proxy.decompressedLayer(layer.digest)))).to.equal(layer.diffID);
      }
      const stored = images.mixed.layers[0]!;
      const refused = await proxy.blob(stored.digest).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).to.be.instanceOf(ImageProxyError);
      expect((refused as ImageProxyError).code).to.equal('blob-not-found');
      expect((refused as ImageProxyError).message).to.contain(stored.diffId);
    } finally {
      await proxy.kill();
    }
  });

  it('Python: fetches manifest, config and every blob verified, and names the diff ID for a stored digest', function () {
    requireTool(this, pythonAvailable, 'python3');
    const stored = images.mixed.layers[0]!;
    const out = runScenario<{ digest: string; blobs: { digest: string; sha256: string }[]; errors: { code: string; message: string }[]; exit: number }>(
      'fetch',
      {
        image,
        bad_digests: [stored.digest],
      },
    );
    expect(out.digest).to.equal(images.mixed.manifest.digest);
    expect(out.blobs.slice(1).map((b) => b.digest)).to.deep.equal(diffIds());
    for (const blob of out.blobs) expect(blob.sha256).to.equal(blob.digest);
    expect(out.errors.map((e) => e.code)).to.deep.equal(['blob-not-found']);
    expect(out.errors[0]!.message).to.contain(stored.diffId);
    expect(out.exit).to.equal(0);
  });

  it('Rust: the fetch example writes every blob and tar, each hashing to its name', async function () {
    this.timeout(20 * 60_000); // a first build compiles hyper and tokio
    const missing = rustToolchainMissing();
    requireTool(this, missing === undefined, missing ?? '');
    const built = await cargoTest();
    if (built.code !== 0) throw new Error(`cargo test failed (${built.code}):\n${lastLines(built.stdout + built.stderr, 40)}`);
    const dir = join(work, 'rust-out');
    const run = await runExample('fetch', [image, dir, '--insecure-policy']);
    const out = JSON.parse(run.stdout) as { fetched?: { digest: string; layers: { digest: string; diffID: string }[] }; error?: unknown; quit?: string };
    expect(out.error, run.stderr).to.equal(undefined);
    expect(out.fetched!.digest).to.equal(images.mixed.manifest.digest);
    expect(out.fetched!.layers.map((l) => [l.digest, l.diffID])).to.deep.equal(diffIds().map((id) => [id, id]));
    for (const sub of ['blobs/sha256', 'layers']) {
      for (const name of readdirSync(join(dir, sub))) expect(sha256(readFileSync(join(dir, sub, name))), name).to.equal(`sha256:${name.replace(/\.tar$/, '')}`);
    }
    expect(readdirSync(join(dir, 'layers')).sort()).to.deep.equal(
      diffIds()
        .map((id) => `${id.slice(7)}.tar`)
        .sort(),
    );
    expect(out.quit).to.equal('the proxy exited with 0');
  });
});
