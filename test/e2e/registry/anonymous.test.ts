import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { useRegistry } from '../../support/registry/fixture.js';
import { type RawPusher } from '../../support/registry/push.js';
import { makeImage, makeLayer, PLATFORMS, standardFixtures, type FixtureImage, type StandardFixtures } from '../../support/image-fixtures.js';
import { startBlobHost, type BlobHost } from './blob-host.js';
import { dockerReference, fetchVerifiedImage, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * docker:// through the real CLI over a socketpair against a real docker-registry on plain
 * http (`--tls-verify=false`): every kind of image the harness can push, fetched whole and
 * verified by the test, with the digest headers and the platform overrides checked.
 */

const FOREIGN_TYPE = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

describe('docker:// end to end: real registry, anonymous, --tls-verify=false', function () {
  this.timeout(60_000);
  let blobHost: BlobHost;
  let fixtures: StandardFixtures;
  let foreign: { image: FixtureImage; url: string };
  before(() => {
    fixtures = standardFixtures();
  });
  const registry = useRegistry(
    { kind: 'anonymous' },
    {
      tempDir: 'e2e-registry-anonymous',
      images: () => ({
        'e2e/oci-single:v1': fixtures.ociSingle,
        'e2e/docker-single:v1': fixtures.dockerSingle,
        'e2e/oci-index:v1': fixtures.ociIndex,
        'e2e/docker-list:v1': fixtures.dockerList,
        'e2e/zstd-index:v1': fixtures.ociZstdIndex,
        'e2e/zstd-single:v1': fixtures.ociZstdIndex.instances[1]!,
        'e2e/docker-uncompressed:v1': fixtures.dockerLarge,
      }),
      push: async (pusher) => {
        foreign = await pushForeignLayerImage(pusher);
      },
    },
  );
  const pool = new ProxyPool(() => isolatedEnv(registry.workDir));
  const proxyFor = (repository: string, ...options: string[]) => pool.start('--tls-verify=false', ...options, dockerReference(registry.host, repository, 'v1'));

  /** A schema2 image whose only layer lives on another host, named by `urls` and never uploaded. */
  async function pushForeignLayerImage(pusher: RawPusher): Promise<{ image: FixtureImage; url: string }> {
    const layer = makeLayer([{ path: 'foreign/' }, { path: 'foreign/README', content: 'served from elsewhere\n' }], { format: 'docker', compression: 'gzip' });
    const image = makeImage({ format: 'docker', platform: PLATFORMS.amd64, layers: [layer], createdBy: 'foreign' });
    const path = `/layers/${layer.digest.slice('sha256:'.length)}`;
    blobHost = await startBlobHost(new Map([[path, layer.bytes]]));
    const url = `${blobHost.url}${path}`;
    await pusher.pushBlob('e2e/foreign', image.config.bytes);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerSchema2,
        config: { mediaType: image.config.mediaType, size: image.config.bytes.length, digest: image.config.digest },
        layers: [{ mediaType: FOREIGN_TYPE, size: layer.bytes.length, digest: layer.digest, urls: [url] }],
      }),
    );
    await pusher.pushManifest('e2e/foreign', 'v1', manifest, MediaType.dockerSchema2);
    return { image, url };
  }

  afterEach(() => pool.disposeAll());
  after(async () => {
    await blobHost?.close();
  });

  const singles: readonly { name: string; repository: string; fixture: () => FixtureImage }[] = [
    { name: 'OCI image with a gzip and an uncompressed layer', repository: 'e2e/oci-single', fixture: () => fixtures.ociSingle },
    { name: 'OCI image with zstd layers', repository: 'e2e/zstd-single', fixture: () => fixtures.ociZstdIndex.instances[1]! },
  ];
  for (const { name, repository, fixture } of singles) {
    it(`${name}: served byte for byte, body hashes to both digest headers, every blob verifies`, async () => {
      const expected = fixture();
      const proxy = proxyFor(repository);
      const image = await fetchVerifiedImage(proxy);
      expect(image.manifest.body.equals(Buffer.from(expected.manifest.bytes))).to.equal(true);
      expect(image.manifest.headers['manifest-digest']).to.equal(expected.manifest.digest);
      expect(image.manifest.headers['instance-digest']).to.equal(digestOf(image.manifest.body));
      expect(image.parsed.layers.map((l) => [l.mediaType, l.digest])).to.deep.equal(expected.layers.map((l) => [l.mediaType, l.digest]));
      expect(image.config.body.equals(Buffer.from(expected.config.bytes))).to.equal(true);
      expect((await proxy.request('POST', '/quit')).status).to.equal(200);
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    });
  }

  it('docker schema2 image: converted to OCI, Instance-Digest names the schema2 manifest, layers kept', async () => {
    const image = await fetchVerifiedImage(proxyFor('e2e/docker-single'));
    expect(image.manifest.headers['manifest-digest']).to.equal(fixtures.dockerSingle.manifest.digest);
    expect(image.manifest.headers['instance-digest']).to.equal(fixtures.dockerSingle.manifest.digest);
    expect(image.parsed.layers.map((l) => [l.mediaType, l.digest])).to.deep.equal(fixtures.dockerSingle.layers.map((l) => [MediaType.ociLayerGzip, l.digest]));
  });

  it('docker schema2 image with an uncompressed 2 MiB layer: served as an OCI tar layer and verified', async () => {
    const image = await fetchVerifiedImage(proxyFor('e2e/docker-uncompressed'));
    const layer = fixtures.dockerLarge.layers[0]!;
    expect(image.parsed.layers).to.have.length(1);
    expect(image.parsed.layers[0]).to.include({ mediaType: MediaType.ociLayerTar, digest: layer.digest, size: layer.bytes.length });
    expect(image.blobs.get(layer.digest)!.equals(Buffer.from(layer.bytes))).to.equal(true);
  });

  const lists: readonly { list: 'ociIndex' | 'dockerList'; repository: string }[] = [
    { list: 'ociIndex', repository: 'e2e/oci-index' },
    { list: 'dockerList', repository: 'e2e/docker-list' },
  ];
  const overrides: readonly { arch: string; variant?: string; instance: number }[] = [
    { arch: 'amd64', instance: 0 },
    { arch: 'arm64', variant: 'v8', instance: 1 },
    { arch: 'arm', variant: 'v7', instance: 2 },
  ];
  for (const { list, repository } of lists) {
    for (const { arch, variant, instance } of overrides) {
      it(`${list}, --override-arch ${arch}${variant ? ` --override-variant ${variant}` : ''}: that instance, Manifest-Digest is the list's`, async () => {
        const artifact = fixtures[list];
        const expected = artifact.instances[instance]!;
        const options = ['--override-os', 'linux', '--override-arch', arch, ...(variant ? ['--override-variant', variant] : [])];
        const image = await fetchVerifiedImage(proxyFor(repository, ...options));
        expect(image.manifest.headers['manifest-digest']).to.equal(artifact.manifest.digest);
        expect(image.manifest.headers['instance-digest']).to.equal(expected.manifest.digest);
        expect(image.parsed.layers.map((l) => l.digest)).to.deep.equal(expected.layers.map((l) => l.digest));
        const config = JSON.parse(image.config.body.toString()) as { architecture: string; variant?: string };
        expect([config.architecture, config.variant]).to.deep.equal([arch, variant]);
        if (list === 'ociIndex') expect(digestOf(image.manifest.body)).to.equal(expected.manifest.digest);
      });
    }
  }

  it('OCI index with a gzip and a zstd instance of the same platform: the zstd one is chosen', async () => {
    const zstd = fixtures.ociZstdIndex.instances[1]!;
    const image = await fetchVerifiedImage(proxyFor('e2e/zstd-index', '--override-os', 'linux', '--override-arch', 'amd64'));
    expect(image.manifest.headers['manifest-digest']).to.equal(fixtures.ociZstdIndex.manifest.digest);
    expect(image.manifest.headers['instance-digest']).to.equal(zstd.manifest.digest);
    expect(image.parsed.layers.map((l) => l.mediaType)).to.deep.equal([MediaType.ociLayerZstd, MediaType.ociLayerZstd]);
  });

  it('foreign layer: nondistributable type with its urls, fetched from the foreign host without credentials', async () => {
    const image = await fetchVerifiedImage(proxyFor('e2e/foreign'));
    const layer = foreign.image.layers[0]!;
    expect(image.parsed.layers).to.deep.equal([
      { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: layer.digest, size: layer.bytes.length, urls: [foreign.url] },
    ]);
    expect(blobHost.requests.map((r) => r.path)).to.deep.equal([new URL(foreign.url).pathname]);
    expect(blobHost.requests[0]!.headers.authorization).to.equal(undefined);
  });

  it('a tag the registry does not have: error JSON image-not-found naming the reference, connection still usable', async () => {
    const proxy = pool.start('--tls-verify=false', dockerReference(registry.host, 'e2e/oci-single', 'no-such-tag'));
    const answer = await proxy.request('GET', '/manifest');
    expect(answer.status).to.equal(404);
    const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(body.code).to.equal('image-not-found');
    expect(body.message).to.include('no-such-tag');
    expect((await proxy.request('GET', '/manifest')).status).to.equal(404);
  });
});
