/**
 * The archive transports through the real CLI: an oci-archive of fixtures, and a docker-archive
 * written by skopeo whose converted manifest must equal what `skopeo copy --format oci` writes
 * (uncompressed layers accepted, so the layers are not recompressed), every blob verified.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestHex, digestOf, parseDigest } from '../../src/domain/digest.js';
import { standardFixtures } from '../support/image-fixtures.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../support/registry/skopeo.js';
import { spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';
import { assertSkopeo, dockerArchive, ociArchive } from '../adapters/archive/archive-fixtures.js';

interface OciManifest {
  readonly config: { readonly digest: string };
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
}

describe('end to end: archive transports', function () {
  this.timeout(120_000);
  const { ociSingle, ociIndex } = standardFixtures();
  let env: SkopeoEnvironment;
  let work: string;
  const proxies: ProxyProcess[] = [];

  before(async function () {
    assertSkopeo();
    env = makeSkopeoEnvironment();
    work = await mkdtemp(join(tmpdir(), 'archives-e2e-'));
  });
  after(async function () {
    await Promise.all(proxies.map((proxy) => proxy.dispose()));
    env?.cleanup();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  function proxyFor(image: string): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', image]);
    proxies.push(proxy);
    return proxy;
  }

  /** Every layer of the served manifest, fetched and checked against its digest and size. */
  async function expectVerifiedBlobs(proxy: ProxyProcess, manifest: OciManifest, oracle?: string): Promise<void> {
    expect(manifest.layers.length).to.be.above(0);
    for (const layer of manifest.layers) {
      const answer = await proxy.request('GET', `/blobs/${layer.digest}`);
      expect([answer.status, answer.complete], proxy.stderr()).to.deep.equal([200, true]);
      expect(digestOf(answer.body)).to.equal(layer.digest);
      expect(answer.body.length).to.equal(layer.size);
      if (oracle !== undefined)
        expect(answer.body.equals(await readFile(join(oracle, 'blobs', 'sha256', digestHex(parseDigest(layer.digest)))))).to.equal(true);
    }
  }

  it('serves an oci-archive image by ref name: manifest, config and every blob', async function () {
    const path = await ociArchive(work, 'fixtures', [
      { artifact: ociIndex, name: 'list' },
      { artifact: ociSingle, name: 'single' },
    ]);
    const proxy = proxyFor(`oci-archive:${path}:single`);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status, proxy.stderr()).to.equal(200);
    expect(manifest.body.equals(Buffer.from(ociSingle.manifest.bytes))).to.equal(true);
    expect(manifest.headers['manifest-digest']).to.equal(ociSingle.manifest.digest);
    const config = await proxy.request('GET', '/config');
    expect(config.body.equals(Buffer.from(ociSingle.config.bytes))).to.equal(true);
    await expectVerifiedBlobs(proxy, JSON.parse(manifest.body.toString()) as OciManifest);
  });

  it('serves a docker-archive image as skopeo copy --format oci converts it, byte for byte', async function () {
    const path = await dockerArchive(env, work, 'docker', ociSingle, 'example.com/fixture/e2e:v1');
    const oracle = join(work, 'oracle');
    await skopeo(env, ['copy', '--quiet', '--format', 'oci', '--dest-oci-accept-uncompressed-layers', `docker-archive:${path}`, `oci:${oracle}:converted`]);
    const index = JSON.parse(await readFile(join(oracle, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const expectedDigest = index.manifests[0]!.digest;
    const expected = await readFile(join(oracle, 'blobs', 'sha256', digestHex(parseDigest(expectedDigest))));

    const proxy = proxyFor(`docker-archive:${path}:example.com/fixture/e2e:v1`);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status, proxy.stderr()).to.equal(200);
    expect(manifest.body.toString()).to.equal(expected.toString());
    expect(digestOf(manifest.body)).to.equal(expectedDigest);
    const served = JSON.parse(manifest.body.toString()) as OciManifest;
    const config = await proxy.request('GET', '/config');
    expect(config.body.equals(await readFile(join(oracle, 'blobs', 'sha256', digestHex(parseDigest(served.config.digest)))))).to.equal(true);
    await expectVerifiedBlobs(proxy, served, oracle);
  });

  it('answers image-not-found for a tag the docker-archive does not hold', async function () {
    const path = await dockerArchive(env, work, 'docker-missing', ociSingle, 'example.com/fixture/e2e:v1');
    const proxy = proxyFor(`docker-archive:${path}:example.com/fixture/e2e:v2`);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status).to.equal(404);
    expect(manifest.body.toString()).to.contain('image-not-found');
  });
});
