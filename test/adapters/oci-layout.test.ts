import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError, type ErrorCode } from '../../src/domain/errors.js';
import { MediaType } from '../../src/domain/media-types.js';
import { type ImageReference } from '../../src/domain/reference.js';
import { OciLayoutTransport } from '../../src/adapters/oci-layout/oci-layout-transport.js';
import { describeTransportContract, type TransportContractFixture } from '../contract/transport-contract.js';
import { type FixtureArtifact, type ImageFormat, ociBlobPath, REF_NAME_ANNOTATION, standardFixtures, writeOciLayout } from '../support/image-fixtures.js';
import { requireSkopeo, skopeoInspectRaw } from '../support/skopeo-cli.js';

async function layoutContractFixture(format: ImageFormat): Promise<TransportContractFixture> {
  const fixtures = standardFixtures();
  const single = format === 'oci' ? fixtures.ociSingle : fixtures.dockerSingle;
  const list = format === 'oci' ? fixtures.ociIndex : fixtures.dockerList;
  const large = format === 'oci' ? fixtures.ociLarge : fixtures.dockerLarge;
  const dir = await mkdtemp(join(tmpdir(), 'oci-contract-'));
  await writeOciLayout(dir, [
    { name: 'single', artifact: single },
    { name: 'list', artifact: list },
    { name: 'large', artifact: large },
  ]);
  const ref = (reference: string): ImageReference => ({ transport: 'oci', path: dir, reference });
  return {
    transport: new OciLayoutTransport(),
    single: { reference: ref('single'), expected: single },
    list: { reference: ref('list'), expected: list },
    large: { reference: ref('large'), expected: large },
    missing: ref('absent'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describeTransportContract('oci: layout of OCI images', () => layoutContractFixture('oci'));
describeTransportContract('oci: layout of docker schema2 images', () => layoutContractFixture('docker'));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
}

async function expectError(promise: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<void> {
  const err = await rejection(promise);
  expect(isProxyError(err) ? err.code : err).to.equal(code);
  for (const fragment of fragments) expect((err as Error).message).to.contain(fragment);
}

describe('OciLayoutTransport', function () {
  const transport = new OciLayoutTransport();
  const { ociSingle, ociIndex, dockerList, ociZstdIndex } = standardFixtures();
  let root: string;
  let layout: string;
  const entries: { name?: string; artifact: FixtureArtifact }[] = [
    { name: 'single', artifact: ociSingle },
    { name: 'index', artifact: ociIndex },
    { artifact: ociZstdIndex },
    { name: 'docker-list', artifact: dockerList },
  ];

  before(async function () {
    root = await mkdtemp(join(tmpdir(), 'oci-layout-'));
    layout = join(root, 'layout');
    await writeOciLayout(layout, entries);
  });
  after(async function () {
    await rm(root, { recursive: true, force: true });
  });

  async function manifestOf(reference: ImageReference): Promise<Uint8Array> {
    const source = await transport.open(reference, {});
    try {
      return (await source.manifest(undefined)).bytes;
    } finally {
      await source.close();
    }
  }

  /** Writes a layout by hand: `files` maps names to contents, written under a fresh directory. */
  async function handmadeLayout(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(root, 'handmade-'));
    for (const [name, content] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    return dir;
  }

  describe('choosing the image of oci:PATH[:REF|@INDEX]', function () {
    const cases: { title: string; select: { reference?: string; index?: number }; expected: FixtureArtifact }[] = [
      { title: 'a ref name', select: { reference: 'index' }, expected: ociIndex },
      { title: 'another ref name', select: { reference: 'single' }, expected: ociSingle },
      { title: 'a docker list by ref name', select: { reference: 'docker-list' }, expected: dockerList },
      { title: 'index 0', select: { index: 0 }, expected: ociSingle },
      { title: 'an entry without a name, by index', select: { index: 2 }, expected: ociZstdIndex },
      { title: 'the last index', select: { index: 3 }, expected: dockerList },
    ];
    for (const { title, select, expected } of cases) {
      it(`selects ${title}`, async function () {
        const bytes = await manifestOf({ transport: 'oci', path: layout, ...select });
        expect(Buffer.from(bytes).equals(Buffer.from(expected.manifest.bytes))).to.equal(true);
      });
    }

    it('takes the only image when no reference is given', async function () {
      const dir = join(root, 'only');
      await writeOciLayout(dir, [{ artifact: ociSingle }]);
      expect(Buffer.from(await manifestOf({ transport: 'oci', path: dir })).equals(Buffer.from(ociSingle.manifest.bytes))).to.equal(true);
    });

    const failures: { title: string; select: { reference?: string; index?: number }; code: ErrorCode; fragments: string[] }[] = [
      { title: 'no reference when there are several images', select: {}, code: 'invalid-reference', fragments: ['4 images', 'choose'] },
      { title: 'an index past the end', select: { index: 4 }, code: 'image-not-found', fragments: ['@4', '4 entries'] },
      { title: 'a negative index', select: { index: -1 }, code: 'image-not-found', fragments: ['@-1'] },
      { title: 'an unknown ref name', select: { reference: 'nope' }, code: 'image-not-found', fragments: ['"nope"', 'layout'] },
      { title: 'both a ref name and an index', select: { reference: 'index', index: 0 }, code: 'invalid-reference', fragments: ['cannot both'] },
    ];
    for (const { title, select, code, fragments } of failures) {
      it(`refuses ${title} with ${code}`, async function () {
        await expectError(transport.open({ transport: 'oci', path: layout, ...select }, {}), code, layout, ...fragments);
      });
    }

    it('refuses a ref name that names only a non-image artifact', async function () {
      const dir = await handmadeLayout({
        'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
        'index.json': JSON.stringify({
          schemaVersion: 2,
          manifests: [
            { mediaType: 'application/vnd.example.thing', digest: ociSingle.config.digest, size: 2, annotations: { [REF_NAME_ANNOTATION]: 'thing' } },
          ],
        }),
      });
      await expectError(transport.open({ transport: 'oci', path: dir, reference: 'thing' }, {}), 'manifest-unsupported', 'application/vnd.example.thing');
    });

    it('answers image-not-found for a layout without images', async function () {
      const dir = await handmadeLayout({ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":2,"manifests":[]}' });
      await expectError(transport.open({ transport: 'oci', path: dir }, {}), 'image-not-found', 'no images');
    });
  });

  describe('reading the layout', function () {
    const broken: { title: string; files: Record<string, string>; code: ErrorCode; fragments: string[] }[] = [
      { title: 'no oci-layout file', files: { 'index.json': '{"manifests":[]}' }, code: 'image-not-found', fragments: ['oci-layout'] },
      { title: 'no index.json', files: { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' }, code: 'image-not-found', fragments: ['index.json'] },
      {
        title: 'another layout version',
        files: { 'oci-layout': '{"imageLayoutVersion":"2.0.0"}', 'index.json': '{"manifests":[]}' },
        code: 'manifest-invalid',
        fragments: ['"2.0.0"'],
      },
      {
        title: 'index.json that is not JSON',
        files: { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"manifests": [' },
        code: 'manifest-invalid',
        fragments: ['index.json', 'JSON'],
      },
      {
        title: 'index.json without manifests',
        files: { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":2}' },
        code: 'manifest-invalid',
        fragments: ['index.json', 'manifests'],
      },
      {
        title: 'a descriptor with a bad digest',
        files: { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"manifests":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}' },
        code: 'manifest-invalid',
        fragments: ['manifests[0]', 'digest'],
      },
    ];
    for (const { title, files, code, fragments } of broken) {
      it(`reports ${title} as ${code}`, async function () {
        const dir = await handmadeLayout(files);
        await expectError(transport.open({ transport: 'oci', path: dir }, {}), code, ...fragments);
      });
    }

    it('reports a missing directory as image-not-found naming it', async function () {
      const missing = join(root, 'does-not-exist');
      await expectError(transport.open({ transport: 'oci', path: missing }, {}), 'image-not-found', missing);
    });

    it('reports a path that is a file as image-not-found', async function () {
      const file = join(root, 'a-file');
      await writeFile(file, 'not a layout');
      await expectError(transport.open({ transport: 'oci', path: file }, {}), 'image-not-found', file);
    });

    it('reports an unreadable index.json as io naming the file', async function () {
      const dir = await handmadeLayout({ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' });
      await mkdir(join(dir, 'index.json'));
      await expectError(transport.open({ transport: 'oci', path: dir }, {}), 'io', join(dir, 'index.json'));
    });
  });

  describe('manifests and blobs', function () {
    it('guesses a manifest media type the index does not record from the manifest itself', async function () {
      const dir = join(root, 'untyped');
      await writeOciLayout(dir, [{ name: 'x', artifact: ociIndex }]);
      const indexPath = join(dir, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: Record<string, unknown>[] };
      delete index.manifests[0]!.mediaType;
      await writeFile(indexPath, JSON.stringify(index));
      // By index: like containers/image, a ref name only selects entries typed as images.
      const source = await transport.open({ transport: 'oci', path: dir, index: 0 }, {});
      expect((await source.manifest(undefined)).mediaType).to.equal(MediaType.ociIndex);
      await expectError(transport.open({ transport: 'oci', path: dir, reference: 'x' }, {}), 'manifest-unsupported');
    });

    it('takes an instance media type from index.json when it lists the instance', async function () {
      const dir = join(root, 'listed-instance');
      const instance = ociIndex.instances[1]!;
      await writeOciLayout(dir, [{ name: 'x', artifact: ociIndex }]);
      const indexPath = join(dir, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: Record<string, unknown>[] };
      index.manifests.push({ mediaType: 'application/vnd.example.recorded', digest: instance.manifest.digest, size: instance.manifest.bytes.length });
      await writeFile(indexPath, JSON.stringify(index));
      const source = await transport.open({ transport: 'oci', path: dir, reference: 'x' }, {});
      expect((await source.manifest(instance.manifest.digest)).mediaType).to.equal('application/vnd.example.recorded');
      expect((await source.manifest(ociIndex.instances[0]!.manifest.digest)).mediaType).to.equal(MediaType.ociManifest);
    });

    it('reports the size the file has, whatever the request claims', async function () {
      const source = await transport.open({ transport: 'oci', path: layout, reference: 'single' }, {});
      const layer = ociSingle.layers[0]!;
      const body = await source.blob({ digest: layer.digest, size: 1 });
      body.stream.destroy();
      expect(body.size).to.equal(layer.bytes.length);
    });

    it('serves a blob as stored, without checking it (the use case verifies)', async function () {
      const dir = join(root, 'corrupt');
      await writeOciLayout(dir, [{ name: 'x', artifact: ociSingle }]);
      await writeFile(ociBlobPath(dir, ociSingle.config.digest), 'tampered');
      const source = await transport.open({ transport: 'oci', path: dir, reference: 'x' }, {});
      const body = await source.blob({ digest: ociSingle.config.digest });
      const chunks: Buffer[] = [];
      for await (const chunk of body.stream as AsyncIterable<Buffer>) chunks.push(chunk);
      expect(Buffer.concat(chunks).toString()).to.equal('tampered');
    });

    const malformed = ['sha256:../../../../etc/passwd', 'sha256:' + 'A'.repeat(64), 'md5:' + 'a'.repeat(32), 'sha256:' + 'a'.repeat(63)];
    for (const digest of malformed) {
      it(`refuses the malformed digest ${digest.slice(0, 24)}… with bad-request`, async function () {
        const source = await transport.open({ transport: 'oci', path: layout, reference: 'single' }, {});
        await expectError(source.blob({ digest: digest as Digest }), 'bad-request');
        await expectError(source.manifest(digest as Digest), 'bad-request');
      });
    }
  });

  describe('agreement with containers/image (skopeo)', function () {
    const named = [
      { name: 'single', artifact: ociSingle },
      { name: 'index', artifact: ociIndex },
    ];
    for (const { name, artifact } of named) {
      it(`skopeo reads the same manifest bytes for oci:LAYOUT:${name}`, async function () {
        requireSkopeo(this);
        const theirs = await skopeoInspectRaw([`oci:${layout}:${name}`]);
        const ours = await manifestOf({ transport: 'oci', path: layout, reference: name });
        expect(theirs.equals(Buffer.from(ours))).to.equal(true);
        expect(theirs.equals(Buffer.from(artifact.manifest.bytes))).to.equal(true);
      });
    }

    it('skopeo finds the arm/v7 config through the fixture index', async function () {
      requireSkopeo(this);
      const config = await skopeoInspectRaw([
        '--config',
        '--override-os',
        'linux',
        '--override-arch',
        'arm',
        '--override-variant',
        'v7',
        `oci:${layout}:index`,
      ]);
      expect(config.equals(Buffer.from(ociIndex.instances[2]!.config.bytes))).to.equal(true);
    });
  });
});
