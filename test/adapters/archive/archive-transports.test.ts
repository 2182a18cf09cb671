import { ReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { DockerArchiveTransport } from '../../../src/adapters/archive/docker-archive-transport.js';
import { OciArchiveTransport } from '../../../src/adapters/archive/oci-archive-transport.js';
import { digestOf } from '../../../src/domain/digest.js';
import { isProxyError, type ErrorCode } from '../../../src/domain/errors.js';
import { parseImageName, type ImageReference } from '../../../src/domain/reference.js';
import { type ImageSource } from '../../../src/ports/transport.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { run } from '../../support/registry/processes.js';
import { makeSkopeoEnvironment, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { skopeoInspectRaw } from '../../support/skopeo-cli.js';
import { assertSkopeo, dockerArchive, ociArchive, packDirectory } from './archive-fixtures.js';

async function expectError(promise: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<void> {
  const err = await promise.then(
    () => expect.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  expect(isProxyError(err) ? err.code : err, (err as Error).message).to.equal(code);
  for (const fragment of fragments) expect((err as Error).message).to.contain(fragment);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function configDigestOf(manifest: Uint8Array): string {
  return (JSON.parse(Buffer.from(manifest).toString()) as { config: { digest: string } }).config.digest;
}

const { ociSingle, ociIndex, ociLarge } = standardFixtures();

describe('OciArchiveTransport', function () {
  const transport = new OciArchiveTransport();
  let work: string;
  let several: string;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'oci-archive-'));
    several = await ociArchive(work, 'several', [
      { artifact: ociSingle, name: 'one' },
      { artifact: ociIndex, name: 'two' },
      { artifact: ociLarge, name: 'large' },
    ]);
  });
  after(async function () {
    await rm(work, { recursive: true, force: true });
  });

  const open = (name: string): Promise<ImageSource> => transport.open(parseImageName(name), {});

  it('selects an image by its ref name', async function () {
    const source = await open(`oci-archive:${several}:two`);
    expect(Buffer.from((await source.manifest(undefined)).bytes).equals(Buffer.from(ociIndex.manifest.bytes))).to.equal(true);
  });

  it('opens an archive of one image without a ref name', async function () {
    const path = await ociArchive(work, 'lonely', [{ artifact: ociSingle }]);
    expect((await (await open(`oci-archive:${path}`)).manifest(undefined)).mediaType).to.equal(ociSingle.manifest.mediaType);
  });

  it('reads a zstd-compressed archive', async function () {
    const path = await ociArchive(work, 'zstd', [{ artifact: ociSingle, name: 'one' }], 'zstd');
    const source = await open(`oci-archive:${path}:one`);
    const layer = ociSingle.layers[0]!;
    expect(digestOf(await collect((await source.blob({ digest: layer.digest })).stream))).to.equal(layer.digest);
  });

  it('streams a blob as a ranged read of the archive file, reading only its bytes', async function () {
    const source = await open(`oci-archive:${several}:large`);
    const layer = ociLarge.layers[0]!;
    const body = await source.blob({ digest: layer.digest });
    expect(body.stream).to.be.instanceOf(ReadStream);
    expect(digestOf(await collect(body.stream))).to.equal(layer.digest);
    expect((body.stream as ReadStream).bytesRead).to.equal(layer.bytes.length);
    expect((await stat(several)).size).to.be.above(layer.bytes.length);
  });

  const failures: { title: string; make: () => Promise<string>; suffix?: string; code: ErrorCode; fragments: (path: string) => string[] }[] = [
    { title: 'a missing file', make: async () => join(work, 'nothing.tar'), code: 'image-not-found', fragments: (path) => [path] },
    {
      title: 'a file that is not a tar',
      make: () => write('garbage.tar', 'this is no tar archive, not even close'.repeat(20)),
      code: 'manifest-invalid',
      fragments: (path) => [path, 'tar'],
    },
    {
      title: 'an xz-compressed archive',
      make: () => write('packed.tar.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])),
      code: 'manifest-invalid',
      fragments: (path) => [path, 'xz'],
    },
    {
      title: 'an archive without index.json',
      make: () => packOnly('no-index', 'oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
      code: 'manifest-invalid',
      fragments: (path) => [path, 'index.json'],
    },
    {
      title: 'several images without a ref name',
      make: async () => several,
      code: 'invalid-reference',
      fragments: (path) => [`oci-archive:${path}:NAME`, '3 images'],
    },
    {
      title: 'an unknown ref name',
      make: async () => several,
      suffix: ':absent',
      code: 'image-not-found',
      fragments: (path) => [`oci-archive:${path}:absent`],
    },
  ];
  for (const failure of failures) {
    it(`reports ${failure.title} as ${failure.code}`, async function () {
      const path = await failure.make();
      await expectError(open(`oci-archive:${path}${failure.suffix ?? ''}`), failure.code, ...failure.fragments(path));
    });
  }

  async function write(name: string, content: string | Uint8Array): Promise<string> {
    const path = join(work, name);
    await writeFile(path, content);
    return path;
  }

  async function packOnly(name: string, file: string, content: string): Promise<string> {
    const dir = join(work, `${name}.dir`);
    await mkdir(dir);
    await writeFile(join(dir, file), content);
    return packDirectory(dir, join(work, `${name}.tar`));
  }
});

describe('DockerArchiveTransport', function () {
  const transport = new DockerArchiveTransport();
  let env: SkopeoEnvironment;
  let work: string;
  let single: string;
  let multi: string;

  before(async function () {
    this.timeout(120_000);
    assertSkopeo();
    env = makeSkopeoEnvironment();
    work = await mkdtemp(join(tmpdir(), 'docker-archive-'));
    single = await dockerArchive(env, work, 'single', ociSingle, 'example.com/fixture/single:v1');
    const large = await dockerArchive(env, work, 'large', ociLarge, 'example.com/fixture/large:v2');
    multi = await combine('multi', [single, large]);
  });
  after(async function () {
    env?.cleanup();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** One docker archive holding the images of several (skopeo writes one image per archive). */
  async function combine(name: string, archives: readonly string[]): Promise<string> {
    const dir = join(work, `${name}.dir`);
    await mkdir(dir);
    const items: unknown[] = [];
    for (const archive of archives) {
      await run('tar', ['-C', dir, '-xf', archive]);
      items.push(...(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown[]));
    }
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(items));
    return packDirectory(dir, join(work, `${name}.tar`));
  }

  /** Unpacks `archive`, lets `change` edit the files, and packs it again. */
  async function rewrite(name: string, archive: string, change: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(work, `${name}.dir`);
    await mkdir(dir);
    await run('tar', ['-C', dir, '-xf', archive]);
    await change(dir);
    return packDirectory(dir, join(work, `${name}.tar`));
  }

  const open = (name: string): Promise<ImageSource> => transport.open(parseImageName(name), {});

  const selections: { suffix: string; expected: () => typeof ociSingle }[] = [
    { suffix: ':example.com/fixture/single:v1', expected: () => ociSingle },
    { suffix: ':example.com/fixture/large:v2', expected: () => ociLarge },
    { suffix: ':@0', expected: () => ociSingle },
    { suffix: ':@1', expected: () => ociLarge },
  ];
  for (const { suffix, expected } of selections) {
    it(`selects the image docker-archive:MULTI${suffix} names`, async function () {
      const source = await open(`docker-archive:${multi}${suffix}`);
      expect(configDigestOf((await source.manifest(undefined)).bytes)).to.equal(expected().config.digest);
    });
  }

  it('generates the manifest containers/image generates, byte for byte', async function () {
    const ours = (await (await open(`docker-archive:${multi}:@1`)).manifest(undefined)).bytes;
    expect(Buffer.from(ours).equals(await skopeoInspectRaw([`docker-archive:${multi}:@1`]))).to.equal(true);
  });

  it('follows the legacy <id>/layer.tar symlinks when manifest.json names them', async function () {
    const legacy = await rewrite('legacy', single, async (dir) => {
      const byTarget = new Map<string, string>();
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) byTarget.set((await readlink(join(dir, entry.name, 'layer.tar'))).replace('../', ''), `${entry.name}/layer.tar`);
      }
      const [item] = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
      item!.Layers = item!.Layers.map((layer) => byTarget.get(layer)!);
      expect(item!.Layers.every((layer) => layer.endsWith('/layer.tar'))).to.equal(true);
      await writeFile(join(dir, 'manifest.json'), JSON.stringify([item]));
    });
    const source = await open(`docker-archive:${legacy}`);
    const layer = ociSingle.layers[1]!;
    expect(digestOf(await collect((await source.blob({ digest: layer.diffId })).stream))).to.equal(layer.diffId);
  });

  it('serves a gzip-compressed layer file uncompressed, with the size and manifest containers/image reports', async function () {
    const layer = ociSingle.layers[1]!;
    const packed = await rewrite('gzip-layer', single, async (dir) => {
      const file = join(dir, `${layer.diffId.slice('sha256:'.length)}.tar`);
      await writeFile(file, gzipSync(await readFile(file)));
    });
    const source = await open(`docker-archive:${packed}`);
    const manifest = (await source.manifest(undefined)).bytes;
    expect(Buffer.from(manifest).equals(await skopeoInspectRaw([`docker-archive:${packed}`]))).to.equal(true);
    const body = await source.blob({ digest: layer.diffId });
    expect(body.size).to.equal(layer.bytes.length);
    expect(digestOf(await collect(body.stream))).to.equal(layer.diffId);
  });

  // containers/image means to read compressed archives (it decompresses them to a temporary
  // file), but skopeo 1.9.3 fails on them with "unexpected EOF"; the uncompressed original is the oracle.
  it('reads a gzip-compressed archive as skopeo reads the uncompressed one', async function () {
    const gz = join(work, 'single.tar.gz');
    await writeFile(gz, gzipSync(await readFile(single)));
    const ours = (await (await open(`docker-archive:${gz}`)).manifest(undefined)).bytes;
    expect(Buffer.from(ours).equals(await skopeoInspectRaw([`docker-archive:${single}`]))).to.equal(true);
  });

  const failures: { title: string; reference: () => Promise<string>; code: ErrorCode; fragments: (ref: string) => string[] }[] = [
    {
      title: 'several images without a reference',
      reference: async () => `docker-archive:${multi}`,
      code: 'invalid-reference',
      fragments: () => ['2 images', ':@INDEX'],
    },
    {
      title: 'an unknown tag',
      reference: async () => `docker-archive:${multi}:example.com/fixture/single:v9`,
      code: 'image-not-found',
      fragments: () => ['example.com/fixture/single:v9'],
    },
    { title: 'an index out of range', reference: async () => `docker-archive:${multi}:@2`, code: 'image-not-found', fragments: () => ['@2', '2 images'] },
    { title: 'a missing file', reference: async () => `docker-archive:${join(work, 'absent.tar')}`, code: 'image-not-found', fragments: () => ['absent.tar'] },
    {
      title: 'an archive without manifest.json',
      reference: async () => `docker-archive:${await rewrite('no-list', single, (dir) => rm(join(dir, 'manifest.json')))}`,
      code: 'manifest-invalid',
      fragments: () => ['manifest.json'],
    },
    {
      title: 'a layer file that is missing',
      reference: async () => `docker-archive:${await rewrite('lost-layer', single, (dir) => rm(join(dir, `${ociSingle.layers[0]!.diffId.slice(7)}.tar`)))}`,
      code: 'manifest-invalid',
      fragments: () => [ociSingle.layers[0]!.diffId.slice(7)],
    },
  ];
  for (const failure of failures) {
    it(`reports ${failure.title} as ${failure.code}`, async function () {
      const reference = await failure.reference();
      await expectError(transport.open(parseImageName(reference) as ImageReference, {}), failure.code, ...failure.fragments(reference));
    });
  }
});
