/**
 * Layer compression read from the bytes, through the real CLI. containers/image types every
 * layer of a `docker save` archive gzip and serves it uncompressed, keeps that type when it
 * copies the image elsewhere, and detects the real compression from the bytes. skopeo is the
 * oracle: `skopeo copy --dest-decompress … dir:…` writes each layer as containers/image
 * decompresses it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { digestHex, digestOf, parseDigest } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, makeImage, PLATFORMS, standardFixtures, tarArchive, writeOciLayout } from '../../support/image-fixtures.js';
import { run } from '../../support/registry/processes.js';
import { dockerArchive, packDirectory } from '../../adapters/archive/archive-fixtures.js';
import { expectStillServing, FidelityBench, jsonOf, type LayerAnswer, type Manifest } from './fidelity-support.js';

describe('fidelity: layers are decompressed as their bytes say, as containers/image reads them', function () {
  this.timeout(120_000);
  const bench = new FidelityBench();
  const { ociSingle } = standardFixtures();
  const archives: Record<string, string> = {};

  before(async function () {
    await bench.setUp();
    // skopeo writes what `docker save` writes: every layer file a plain tar.
    archives['plain tar layer files (skopeo, docker save)'] = await dockerArchive(
      bench.env!,
      bench.work,
      'plain',
      ociSingle,
      'example.com/fidelity/archive:v1',
    );
    // Older tools (umoci, docker before 25) left some layer files gzip-compressed.
    const unpacked = bench.path('gzip.dir');
    await mkdir(unpacked);
    await run('tar', ['-C', unpacked, '-xf', archives['plain tar layer files (skopeo, docker save)']]);
    const file = join(unpacked, `${digestHex(ociSingle.layers[0]!.diffId)}.tar`);
    await writeFile(file, gzipSync(await readFile(file)));
    archives['a gzip-compressed layer file'] = await packDirectory(unpacked, bench.path('gzip.tar'));
  });
  after(() => bench.tearDown());

  // skopeo keeps the type it was given (PreserveOriginal): copies of a docker archive to dir: or
  // to an OCI layout that accepts uncompressed layers hold plain tars typed gzip too.
  for (const [transport, flags] of [
    ['dir', []],
    ['oci', ['--dest-oci-accept-uncompressed-layers']],
  ] as const) {
    it(`${transport}: a copy skopeo made of a docker archive: /layers reads its layers' compression from their bytes`, async function () {
      const copy = `${transport}:${bench.path(`copied-${transport}`)}${transport === 'oci' ? ':copied' : ''}`;
      await bench.skopeo('copy', '--quiet', ...flags, `docker-archive:${archives['plain tar layer files (skopeo, docker save)']!}`, copy);
      const oracle = bench.path(`copied-${transport}-decompressed`);
      await bench.skopeo('copy', '--quiet', '--dest-decompress', copy, `dir:${oracle}`);
      const proxy = bench.proxy(copy);

      const layers = jsonOf<LayerAnswer[]>(await proxy.request('GET', '/layers'));
      expect(layers.map((layer) => [layer.compression, layer.diffID])).to.deep.equal(ociSingle.layers.map((layer) => ['none', layer.diffId]));
      const served = jsonOf<Manifest>(await proxy.request('GET', '/manifest'));
      expect(
        served.layers.map((layer) => layer.mediaType),
        'typed gzip (dir: converted from schema2)',
      ).to.deep.equal(ociSingle.layers.map(() => MediaType.ociLayerGzip));
      for (const layer of layers) {
        const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
        expect([decompressed.status, decompressed.complete], proxy.stderr()).to.deep.equal([200, true]);
        expect(decompressed.body.equals(await readFile(join(oracle, digestHex(parseDigest(layer.digest)))))).to.equal(true);
      }
      await expectStillServing(proxy);
    });
  }

  it('oci: a bzip2 layer typed gzip: /layers keeps the media type, ?decompress=true answers manifest-unsupported, and the proxy goes on', async function () {
    const tar = tarArchive([{ path: 'data', content: 'bzip2 stands in here' }]);
    // Only the magic number matters: the proxy refuses before decompressing anything.
    const bzip2 = {
      ...blobOf(MediaType.ociLayerGzip, Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.from(tar)])),
      diffId: digestOf(tar),
      compression: 'gzip' as const,
    };
    const image = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [bzip2] });
    const layout = bench.path('bzip2-layout');
    await writeOciLayout(layout, [{ artifact: image }]);
    const proxy = bench.proxy(`oci:${layout}`);

    const layers = jsonOf<LayerAnswer[]>(await proxy.request('GET', '/layers'));
    expect(layers.map((layer) => [layer.digest, layer.compression])).to.deep.equal([[bzip2.digest, 'gzip']]);
    const decompressed = await proxy.request('GET', `/blobs/${bzip2.digest}?decompress=true`);
    expect(decompressed.status).to.equal(501);
    expect(jsonOf<{ code: string; message: string }>(decompressed)).to.deep.equal({
      code: 'manifest-unsupported',
      message: `layer ${bzip2.digest} is bzip2-compressed, which this proxy cannot decompress (gzip and zstd are supported)`,
    });
    const raw = await proxy.request('GET', `/blobs/${bzip2.digest}`);
    expect([raw.status, raw.complete, digestOf(raw.body)]).to.deep.equal([200, true, bzip2.digest]);
    await expectStillServing(proxy);
  });

  for (const name of ['plain tar layer files (skopeo, docker save)', 'a gzip-compressed layer file']) {
    it(`${name}: /layers says compression none; ?decompress=true serves what skopeo copy --dest-decompress writes`, async function () {
      const image = `docker-archive:${archives[name]!}`;
      const oracle = bench.path(`decompressed-${Object.keys(archives).indexOf(name)}`);
      await bench.skopeo('copy', '--quiet', '--dest-decompress', image, `dir:${oracle}`);
      const proxy = bench.proxy(image);

      const manifest = jsonOf<Manifest>(await proxy.request('GET', '/manifest'));
      const layers = await proxy.request('GET', '/layers');
      expect(layers.status, proxy.stderr()).to.equal(200);
      // The media type stays containers/image's (gzip), the compression is what the bytes are.
      expect(jsonOf<LayerAnswer[]>(layers)).to.deep.equal(
        manifest.layers.map((layer) => ({
          digest: layer.digest,
          size: layer.size,
          mediaType: MediaType.ociLayerGzip,
          compression: 'none',
          diffID: layer.digest,
        })),
      );

      for (const layer of manifest.layers) {
        const expected = await readFile(join(oracle, digestHex(parseDigest(layer.digest))));
        const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
        expect([decompressed.status, decompressed.complete], proxy.stderr()).to.deep.equal([200, true]);
        expect(decompressed.headers['content-length']).to.equal(String(layer.size));
        expect(decompressed.body.equals(expected), `${layer.digest}: the bytes skopeo wrote`).to.equal(true);
        expect(digestOf(decompressed.body)).to.equal(layer.digest);
        const raw = await proxy.request('GET', `/blobs/${layer.digest}`);
        expect(raw.body.equals(expected), 'the raw layer is the same tar').to.equal(true);
      }
      await expectStillServing(proxy);
    });
  }
});
