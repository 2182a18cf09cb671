/**
 * Layers of several zstd frames, through the real CLI, from every kind of source: the tar cut in
 * parts, each part compressed by the `zstd` tool, the frames concatenated (with and without
 * skippable frames), as parallel compressors and zstd:chunked writers leave them. `zstd -dc` is
 * the oracle: it reads every frame, so `?decompress=true` must give what it gives, verified
 * against the diff ID, and an archive compressed that way must be read to its end.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestHex, digestOf } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, type FixtureImage, type FixtureLayer, makeImage, PLATFORMS, tarArchive, writeDirImage, writeOciLayout } from '../../support/image-fixtures.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { run } from '../../support/registry/processes.js';
import { pushLayout } from '../../support/registry/push.js';
import { startRegistry, type RunningRegistry } from '../../support/registry/registry-server.js';
import { type ProxyProcess } from '../../support/spawn-proxy.js';
import { zstdFrames } from '../../support/zstd-cli.js';
import { dockerArchive, packDirectory } from '../../adapters/archive/archive-fixtures.js';
import { expectStillServing, FidelityBench, jsonOf, type LayerAnswer, type Manifest } from './fidelity-support.js';

/** Text that compresses, long enough for frames of several 128 KiB blocks. */
function text(seed: number, length: number): string {
  const words = ['layer', 'frame', 'block', 'chunk', 'zstd', 'tar', 'skippable', 'digest'];
  let out = '';
  let state = seed;
  while (out.length < length) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out += `${words[state % words.length]!} ${state % 1000}\n`;
  }
  return out.slice(0, length);
}

const TAR = tarArchive([
  { path: 'etc/' },
  { path: 'etc/hostname', content: 'multi-frame\n' },
  { path: 'usr/share/doc/big.txt', content: text(1, 400_000) },
  { path: 'usr/share/doc/small.txt', content: text(2, 3000) },
]);
/** Cuts that fall inside headers and file contents alike, not on tar blocks. */
const CUTS = [700, 150_001, 390_000];

describe('fidelity: multi-frame zstd layers are decompressed to their end, from every source', function () {
  this.timeout(180_000);
  const bench = new FidelityBench();
  const layers: Record<'plain' | 'skippable', FixtureLayer> = {} as never;
  let image: FixtureImage;

  before(async function () {
    await bench.setUp();
    for (const kind of ['plain', 'skippable'] as const) {
      const bytes = await zstdFrames(TAR, CUTS, { skippable: kind === 'skippable' });
      layers[kind] = { ...blobOf(MediaType.ociLayerZstd, bytes), diffId: digestOf(TAR), compression: 'zstd' };
    }
    image = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [layers.plain, layers.skippable] });
  });
  after(() => bench.tearDown());

  it('the fixture: zstd -dc reads every frame of both layers back to the tar', async function () {
    for (const layer of Object.values(layers)) {
      const file = bench.path(`check-${digestHex(layer.digest)}.zst`);
      await writeFile(file, layer.bytes);
      await run('zstd', ['-q', '-d', '-f', file, '-o', `${file}.tar`]);
      expect((await readFile(`${file}.tar`)).equals(Buffer.from(TAR))).to.equal(true);
    }
  });

  /** Every layer read decompressed is the whole tar, verified; the raw blob is served as stored. */
  async function expectWholeLayers(proxy: ProxyProcess): Promise<void> {
    const listed = jsonOf<LayerAnswer[]>(await proxy.request('GET', '/layers'));
    expect(
      listed.map((layer) => [layer.digest, layer.compression, layer.diffID]),
      proxy.stderr(),
    ).to.deep.equal(image.layers.map((layer) => [layer.digest, 'zstd', layer.diffId]));
    for (const layer of image.layers) {
      const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
      expect([decompressed.status, decompressed.complete, decompressed.body.length], proxy.stderr()).to.deep.equal([200, true, TAR.length]);
      expect(decompressed.body.equals(Buffer.from(TAR))).to.equal(true);
      const raw = await proxy.request('GET', `/blobs/${layer.digest}`);
      expect([raw.status, raw.complete, digestOf(raw.body)]).to.deep.equal([200, true, layer.digest]);
    }
    await expectStillServing(proxy);
  }

  it('oci: ?decompress=true gives every frame, skipping skippable frames, verified against the diff ID', async function () {
    const layout = bench.path('layout');
    await writeOciLayout(layout, [{ artifact: image, name: 'multi' }]);
    await expectWholeLayers(bench.proxy(`oci:${layout}:multi`));
  });

  it('dir: the same', async function () {
    const dir = bench.path('dir');
    await writeDirImage(dir, image);
    await expectWholeLayers(bench.proxy(`dir:${dir}`));
  });

  it('oci-archive: an archive itself compressed as several zstd frames is read to its end, and its layers whole', async function () {
    const layout = bench.path('archived-layout');
    await writeOciLayout(layout, [{ artifact: image, name: 'multi' }]);
    const tar = await readFile(await packDirectory(layout, bench.path('archive.tar')));
    // Cut well inside the archive, so that index.json and the layers lie beyond the first frame.
    const archive = bench.path('archive.tar.zst');
    await writeFile(archive, await zstdFrames(tar, [1024, Math.floor(tar.length / 2)], { skippable: true }));
    await expectWholeLayers(bench.proxy(`oci-archive:${archive}:multi`));
  });

  it('docker-archive: a layer file of several zstd frames is served as its whole tar, with its size', async function () {
    // skopeo writes the archive with plain tar layer files; one of them is replaced by multi-frame zstd.
    const plain = makeImage({
      format: 'oci',
      platform: PLATFORMS.amd64,
      layers: [{ ...blobOf(MediaType.ociLayerTar, TAR), diffId: digestOf(TAR), compression: 'none' }],
    });
    const unpacked = bench.path('docker.dir');
    await mkdir(unpacked);
    await run('tar', ['-C', unpacked, '-xf', await dockerArchive(bench.env!, bench.work, 'docker', plain, 'example.com/zstd/frames:v1')]);
    const layerFile = join(unpacked, `${digestHex(digestOf(TAR))}.tar`);
    expect((await readFile(layerFile)).equals(Buffer.from(TAR)), 'skopeo wrote the layer file as a plain tar').to.equal(true);
    await writeFile(layerFile, layers.skippable.bytes);
    const proxy = bench.proxy(`docker-archive:${await packDirectory(unpacked, bench.path('docker-zstd.tar'))}`);

    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status, proxy.stderr()).to.equal(200);
    expect(jsonOf<Manifest>(manifest).layers.map((layer) => [layer.digest, layer.size])).to.deep.equal([[digestOf(TAR), TAR.length]]);
    const blob = await proxy.request('GET', `/blobs/${digestOf(TAR)}`);
    expect([blob.status, blob.complete], proxy.stderr()).to.deep.equal([200, true]);
    expect(blob.body.equals(Buffer.from(TAR))).to.equal(true);
    await expectStillServing(proxy);
  });

  describe('docker:// on a real registry', function () {
    let registry: RunningRegistry;

    before(async function () {
      requireRegistryTools(this);
      registry = await startRegistry({ kind: 'anonymous' });
      const layout = bench.path('push-layout');
      await writeOciLayout(layout, [{ artifact: image, name: 'multi' }]);
      await pushLayout(registry, layout, 'multi', 'zstd/multi-frame', 'v1');
    });
    after(async () => registry?.stop());

    it('the layers as pushed, each read decompressed to its end', async function () {
      const proxy = bench.proxy('--tls-verify=false', `docker://${registry.host}/zstd/multi-frame:v1`);
      const manifest = await proxy.request('GET', '/manifest');
      expect(manifest.body.equals(Buffer.from(image.manifest.bytes)), 'skopeo pushed the layers as they were').to.equal(true);
      await expectWholeLayers(proxy);
    });
  });

  it('a layer with bytes after its last frame is refused: its body cut, the log naming the frame', async function () {
    const trailing = {
      ...blobOf(MediaType.ociLayerZstd, Buffer.concat([layers.plain.bytes, Buffer.from('not a frame')])),
      diffId: digestOf(TAR),
      compression: 'zstd' as const,
    };
    const layout = bench.path('trailing-layout');
    await writeOciLayout(layout, [{ artifact: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [trailing] }) }]);
    const proxy = bench.proxy(`oci:${layout}`);
    const answer = await proxy.request('GET', `/blobs/${trailing.digest}?decompress=true`);
    expect([answer.status, answer.complete, answer.body.length], 'a body cut before its first byte').to.deep.equal([200, false, 0]);
    expect(proxy.stderr()).to.contain(
      `digest-mismatch: layer ${trailing.digest}: cannot decompress (zstd): zstd frame 5 (from byte ${layers.plain.bytes.length}) starts with 0x20746F6E, neither a zstd frame's magic number`,
    );
  });
});
