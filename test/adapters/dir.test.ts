import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError, type ErrorCode } from '../../src/domain/errors.js';
import { type ImageReference } from '../../src/domain/reference.js';
import { DirTransport } from '../../src/adapters/dir/dir-transport.js';
import { describeTransportContract, type TransportContractFixture } from '../contract/transport-contract.js';
import { dirBlobPath, dirInstanceManifestPath, type ImageFormat, standardFixtures, writeDirImage } from '../support/image-fixtures.js';
import { requireSkopeo, skopeoInspectRaw } from '../support/skopeo-cli.js';

async function dirContractFixture(format: ImageFormat): Promise<TransportContractFixture> {
  const fixtures = standardFixtures();
  const images = {
    single: format === 'oci' ? fixtures.ociSingle : fixtures.dockerSingle,
    list: format === 'oci' ? fixtures.ociIndex : fixtures.dockerList,
    large: format === 'oci' ? fixtures.ociLarge : fixtures.dockerLarge,
  };
  const root = await mkdtemp(join(tmpdir(), 'dir-contract-'));
  for (const [name, artifact] of Object.entries(images)) await writeDirImage(join(root, name), artifact);
  const ref = (name: string): ImageReference => ({ transport: 'dir', path: join(root, name) });
  return {
    transport: new DirTransport(),
    single: { reference: ref('single'), expected: images.single },
    list: { reference: ref('list'), expected: images.list },
    large: { reference: ref('large'), expected: images.large },
    missing: ref('absent'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

describeTransportContract('dir: images in OCI form', () => dirContractFixture('oci'));
describeTransportContract('dir: images in docker schema2 form', () => dirContractFixture('docker'));

async function expectError(promise: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<void> {
  const err = await promise.then(
    () => expect.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  expect(isProxyError(err) ? err.code : err).to.equal(code);
  for (const fragment of fragments) expect((err as Error).message).to.contain(fragment);
}

describe('DirTransport', function () {
  const transport = new DirTransport();
  const { ociSingle, dockerList } = standardFixtures();
  let root: string;

  before(async function () {
    root = await mkdtemp(join(tmpdir(), 'dir-transport-'));
  });
  after(async function () {
    await rm(root, { recursive: true, force: true });
  });

  async function imageDir(name: string, write: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(root, name);
    await write(dir);
    return dir;
  }

  it('reports a missing directory as image-not-found naming it', async function () {
    const missing = join(root, 'nothing-here');
    await expectError(transport.open({ transport: 'dir', path: missing }, {}), 'image-not-found', missing);
  });

  it('reports a directory without manifest.json as image-not-found', async function () {
    const dir = await imageDir('empty', (path) => mkdir(path));
    await expectError(transport.open({ transport: 'dir', path: dir }, {}), 'image-not-found', 'manifest.json', dir);
  });

  it('reports a manifest.json that is not JSON as manifest-invalid naming it', async function () {
    const dir = await imageDir('garbled', async (path) => {
      await mkdir(path);
      await writeFile(join(path, 'manifest.json'), '{"schemaVersion": 2,');
    });
    await expectError(transport.open({ transport: 'dir', path: dir }, {}), 'manifest-invalid', join(dir, 'manifest.json'));
  });

  it('reports an unreadable manifest.json as io', async function () {
    const dir = await imageDir('unreadable', async (path) => {
      await mkdir(join(path, 'manifest.json'), { recursive: true });
    });
    await expectError(transport.open({ transport: 'dir', path: dir }, {}), 'io', join(dir, 'manifest.json'));
  });

  it('reads an image without a version file, as containers/image does', async function () {
    const dir = await imageDir('no-version', async (path) => {
      await writeDirImage(path, ociSingle);
      await unlink(join(path, 'version'));
    });
    const source = await transport.open({ transport: 'dir', path: dir }, {});
    expect((await source.manifest(undefined)).mediaType).to.equal(ociSingle.manifest.mediaType);
  });

  it('reports a missing instance manifest as image-not-found naming its digest', async function () {
    const instance = dockerList.instances[0]!.manifest.digest;
    const dir = await imageDir('lost-instance', async (path) => {
      await writeDirImage(path, dockerList);
      await unlink(dirInstanceManifestPath(path, instance));
    });
    const source = await transport.open({ transport: 'dir', path: dir }, {});
    await expectError(source.manifest(instance), 'image-not-found', instance, dir);
  });

  it('reports a missing layer as blob-not-found naming its digest', async function () {
    const layer = ociSingle.layers[0]!.digest;
    const dir = await imageDir('lost-layer', async (path) => {
      await writeDirImage(path, ociSingle);
      await unlink(dirBlobPath(path, layer));
    });
    const source = await transport.open({ transport: 'dir', path: dir }, {});
    await expectError(source.blob({ digest: layer }), 'blob-not-found', layer, dir);
  });

  const malformed = ['sha256:../manifest.json', 'sha256:' + 'F'.repeat(64), 'sha1:' + 'a'.repeat(40)];
  for (const digest of malformed) {
    it(`refuses the malformed digest ${digest.slice(0, 24)}… with bad-request`, async function () {
      const dir = await imageDir(`malformed-${malformed.indexOf(digest)}`, (path) => writeDirImage(path, dockerList));
      const source = await transport.open({ transport: 'dir', path: dir }, {});
      await expectError(source.blob({ digest: digest as Digest }), 'bad-request');
      await expectError(source.manifest(digest as Digest), 'bad-request');
    });
  }

  describe('agreement with containers/image (skopeo)', function () {
    it('skopeo reads the same manifest bytes from a fixture dir: image', async function () {
      requireSkopeo(this);
      const dir = await imageDir('skopeo-list', (path) => writeDirImage(path, dockerList));
      const theirs = await skopeoInspectRaw([`dir:${dir}`]);
      const source = await transport.open({ transport: 'dir', path: dir }, {});
      expect(theirs.equals(Buffer.from((await source.manifest(undefined)).bytes))).to.equal(true);
    });

    it('skopeo finds an instance config where the fixture writer put the instance manifest', async function () {
      requireSkopeo(this);
      const dir = await imageDir('skopeo-instance', (path) => writeDirImage(path, dockerList));
      const config = await skopeoInspectRaw(['--config', '--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8', `dir:${dir}`]);
      expect(config.equals(Buffer.from(dockerList.instances[1]!.config.bytes))).to.equal(true);
    });
  });
});
