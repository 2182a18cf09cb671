/**
 * Manifests stored without a media type, through the real CLI. containers/image's dir: source
 * always guesses the type from the content (GuessMIMEType), and its OCI layout source guesses
 * when index.json's entry declares none; skopeo copying the same image is the oracle.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, type FixtureImage, type FixtureList, standardFixtures, writeDirImage, writeOciLayout } from '../../support/image-fixtures.js';
import { packDirectory } from '../../adapters/archive/archive-fixtures.js';
import { expectStillServing, FidelityBench, jsonOf, type Manifest, withoutMediaType } from './fidelity-support.js';

const ARM64 = ['--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8'];

function untypedImage(image: FixtureImage): FixtureImage {
  return { ...image, manifest: withoutMediaType(image.manifest) };
}

/** An OCI index without mediaType anywhere: not on itself, its entries, or its instances. */
function untypedIndex(list: FixtureList): FixtureList {
  const instances = list.instances.map(untypedImage);
  const index = JSON.parse(Buffer.from(list.manifest.bytes).toString('utf8')) as { manifests: Record<string, unknown>[] };
  const manifests = index.manifests.map(({ mediaType: _dropped, ...entry }, i) => ({
    ...entry,
    digest: instances[i]!.manifest.digest,
    size: instances[i]!.manifest.bytes.length,
  }));
  return { ...list, instances, manifest: blobOf(MediaType.ociIndex, new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, manifests }))) };
}

/** Removes the mediaType of every index.json entry, as layouts written before image-spec 1.0.2 have them. */
async function untypeLayoutIndex(layout: string): Promise<void> {
  const file = join(layout, 'index.json');
  const index = JSON.parse(await readFile(file, 'utf8')) as { manifests: Record<string, unknown>[] };
  index.manifests = index.manifests.map(({ mediaType: _dropped, ...entry }) => entry);
  await writeFile(file, JSON.stringify(index));
}

describe('fidelity: manifests without mediaType are typed by GuessMIMEType, as containers/image types them', function () {
  this.timeout(120_000);
  const bench = new FidelityBench();
  const { ociSingle, ociIndex, dockerSingle } = standardFixtures();
  const image = untypedImage(ociSingle);
  const index = untypedIndex(ociIndex);

  before(() => bench.setUp());
  after(() => bench.tearDown());

  async function source(transport: 'dir' | 'oci' | 'oci-archive', name: string, artifact: FixtureImage | FixtureList): Promise<string> {
    const path = bench.path(name);
    if (transport === 'dir') {
      await writeDirImage(path, artifact);
      return `dir:${path}`;
    }
    await writeOciLayout(path, [{ artifact }]);
    await untypeLayoutIndex(path);
    return transport === 'oci' ? `oci:${path}` : `oci-archive:${await packDirectory(path, `${path}.tar`)}`;
  }

  for (const transport of ['dir', 'oci', 'oci-archive'] as const) {
    it(`${transport}: an OCI manifest without mediaType is served byte for byte, as skopeo copies it`, async function () {
      const name = await source(transport, `${transport}-image`, image);
      const oracle = await bench.copyToLayout(name, `${transport}-image-copied`);
      expect(oracle.manifest.equals(Buffer.from(image.manifest.bytes)), 'skopeo kept the untyped manifest').to.equal(true);

      const proxy = bench.proxy(name);
      const manifest = await proxy.request('GET', '/manifest');
      expect(manifest.status, manifest.body.toString()).to.equal(200);
      expect(manifest.body.equals(oracle.manifest)).to.equal(true);
      expect(manifest.headers['manifest-digest']).to.equal(digestOf(oracle.manifest));
      expect((await proxy.request('GET', '/config')).body.equals(oracle.config)).to.equal(true);
      for (const layer of jsonOf<Manifest>(manifest).layers) {
        const blob = await proxy.request('GET', `/blobs/${layer.digest}`);
        expect([blob.status, blob.complete, digestOf(blob.body)]).to.deep.equal([200, true, layer.digest]);
      }
      await expectStillServing(proxy);
    });

    it(`${transport}: an untyped OCI index with untyped instances: the arm64 instance, as skopeo copies it`, async function () {
      const name = await source(transport, `${transport}-index`, index);
      const oracle = await bench.copyToLayout(name, `${transport}-index-copied`, ...ARM64);
      const proxy = bench.proxy(...ARM64, name);
      const manifest = await proxy.request('GET', '/manifest');
      expect(manifest.status, manifest.body.toString()).to.equal(200);
      expect(manifest.body.equals(oracle.manifest)).to.equal(true);
      expect(manifest.headers['manifest-digest']).to.equal(index.manifest.digest);
      expect(manifest.headers['instance-digest']).to.equal(index.instances[1]!.manifest.digest);
      expect((await proxy.request('GET', '/config')).body.equals(oracle.config)).to.equal(true);
      await expectStillServing(proxy);
    });
  }

  it('dir: a docker schema2 manifest without mediaType is refused by both (containers/image requires the field)', async function () {
    const name = await source('dir', 'dir-schema2', untypedImage(dockerSingle));
    let skopeoFailure = '';
    await bench.copyToLayout(name, 'dir-schema2-copied').catch((err: Error) => (skopeoFailure = err.message));
    expect(skopeoFailure).to.contain('v2s2 media type');

    const proxy = bench.proxy(name);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status).to.equal(502);
    expect(jsonOf<{ code: string; message: string }>(manifest)).to.deep.include({ code: 'manifest-invalid' });
    expect(manifest.body.toString()).to.contain(`invalid ${MediaType.dockerSchema2} manifest: its mediaType field is missing`);
    await expectStillServing(proxy);
  });
});
