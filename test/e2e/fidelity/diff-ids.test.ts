/**
 * Configs whose `rootfs.diff_ids` do not fit the layers (too few, too many, null entries),
 * through the real CLI. containers/image converts and copies such images: skopeo copying them is
 * the oracle for the manifest and config. Only what needs a layer's diff ID fails, for that layer.
 */
import { expect } from 'chai';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { type FixtureImage, standardFixtures, writeDirImage, writeOciLayout } from '../../support/image-fixtures.js';
import { expectStillServing, FidelityBench, jsonOf, type LayerAnswer, withConfig, withDiffIDs } from './fidelity-support.js';

interface Case {
  readonly name: string;
  readonly diffIDs: (ids: readonly Digest[]) => readonly unknown[];
  /** Per layer: the diff ID /layers gives, or the words of its diffIDError; `nullAs` is how the served config shows a null. */
  readonly expected: (ids: readonly Digest[], nullAs: string) => readonly ({ diffID: Digest } | { error: string })[];
}

const cases: readonly Case[] = [
  {
    name: 'one diff_id for two layers',
    diffIDs: (ids) => ids.slice(0, 1),
    expected: (ids) => [{ diffID: ids[0]! }, { error: 'lists 1 rootfs.diff_ids for 2 layers, none for layer 1' }],
  },
  {
    name: 'a null diff_id',
    diffIDs: (ids) => [null, ids[1]],
    expected: (ids, nullAs) => [{ error: `the config's rootfs.diff_ids[0] is ${nullAs}` }, { diffID: ids[1]! }],
  },
  { name: 'three diff_ids for two layers', diffIDs: (ids) => [...ids, ids[0]], expected: (ids) => [{ diffID: ids[0]! }, { diffID: ids[1]! }] },
];

describe('fidelity: images whose rootfs.diff_ids do not fit their layers are served as containers/image serves them', function () {
  this.timeout(120_000);
  const bench = new FidelityBench();
  const { dockerSingle, ociIndex } = standardFixtures();
  const ociImage = ociIndex.instances[0]!;

  before(() => bench.setUp());
  after(() => bench.tearDown());

  async function write(transport: 'dir' | 'oci', name: string, image: FixtureImage): Promise<string> {
    const path = bench.path(name);
    if (transport === 'dir') await writeDirImage(path, image);
    else await writeOciLayout(path, [{ artifact: image }]);
    return `${transport}:${path}`;
  }

  // Converting to OCI turns a null diff_id into "" (Go decodes a null into a string as nothing).
  for (const [format, base, transport, nullAs] of [
    ['docker schema2 (converted)', dockerSingle, 'dir', 'empty'],
    ['OCI', ociImage, 'oci', 'null'],
  ] as const) {
    for (const [i, { name, diffIDs, expected }] of cases.entries()) {
      it(`${format}, ${name}: manifest and config as skopeo copies them, every blob, and per-layer diff IDs`, async function () {
        const ids = base.layers.map((layer) => layer.diffId);
        const image = withDiffIDs(base, diffIDs(ids));
        const reference = await write(transport, `${transport}-${i}`, image);
        const oracle = await bench.copyToLayout(reference, `${transport}-${i}-copied`, '--format', 'oci');

        const proxy = bench.proxy(reference);
        const manifest = await proxy.request('GET', '/manifest');
        expect(manifest.status, manifest.body.toString()).to.equal(200);
        expect(manifest.body.toString()).to.equal(oracle.manifest.toString());
        const config = await proxy.request('GET', '/config');
        expect(config.body.toString()).to.equal(oracle.config.toString());

        const layers = await proxy.request('GET', '/layers');
        expect(layers.status, layers.body.toString()).to.equal(200);
        const answers = jsonOf<LayerAnswer[]>(layers);
        expect(answers.map((layer) => layer.digest)).to.deep.equal(image.layers.map((layer) => layer.digest));
        for (const [at, want] of expected(ids, nullAs).entries()) {
          const layer = answers[at]!;
          const raw = await proxy.request('GET', `/blobs/${layer.digest}`);
          expect([raw.status, raw.complete, digestOf(raw.body)], 'the layer itself is served').to.deep.equal([200, true, layer.digest]);
          const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
          if ('diffID' in want) {
            expect([layer.diffID, layer.diffIDError]).to.deep.equal([want.diffID, undefined]);
            expect([decompressed.status, decompressed.complete, digestOf(decompressed.body)]).to.deep.equal([200, true, want.diffID]);
          } else {
            expect(layer.diffID).to.equal(undefined);
            expect(layer.diffIDError).to.contain(want.error);
            expect(decompressed.status).to.equal(502);
            const error = jsonOf<{ code: string; message: string }>(decompressed);
            expect(error.code).to.equal('manifest-invalid');
            expect(error.message).to.contain(layer.digest).and.to.contain(want.error);
          }
        }
        await expectStillServing(proxy);
      });
    }
  }

  it('OCI, diff_ids written with JSON escapes: unescaped as Go does, so every layer has its diff ID and decompresses', async function () {
    const ids = ociImage.layers.map((layer) => layer.diffId);
    const text = Buffer.from(withDiffIDs(ociImage, ids).config.bytes).toString('utf8');
    // "sha256:" written as "\u0073ha256:": the same string to Go, not the same bytes.
    const escaped = text.replaceAll('"sha256:', '"\\u0073ha256:');
    expect(escaped).to.not.equal(text);
    const reference = await write('oci', 'oci-escaped', withConfig(ociImage, new TextEncoder().encode(escaped)));
    const oracle = await bench.copyToLayout(reference, 'oci-escaped-copied', '--format', 'oci');

    const proxy = bench.proxy(reference);
    expect((await proxy.request('GET', '/config')).body.toString()).to.equal(oracle.config.toString());
    const layers = await proxy.request('GET', '/layers');
    expect(layers.status, layers.body.toString()).to.equal(200);
    const answers = jsonOf<LayerAnswer[]>(layers);
    expect(answers.map((layer) => [layer.diffID, layer.diffIDError])).to.deep.equal(ids.map((id) => [id, undefined]));
    for (const [at, layer] of answers.entries()) {
      const decompressed = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
      expect([decompressed.status, decompressed.complete, digestOf(decompressed.body)]).to.deep.equal([200, true, ids[at]]);
    }
    await expectStillServing(proxy);
  });
});
