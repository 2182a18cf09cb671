import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import {
  makeImage,
  makeLayer,
  PLATFORMS,
  standardFixtures,
  writeDirImage,
  writeOciLayout,
  type FixtureImage,
  type FixtureLayer,
} from '../support/image-fixtures.js';
import { type HttpAnswer, REPO_ROOT, spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';

/**
 * The 1.1 API through the real CLI over a socketpair: /layers, decompressed layers (compared
 * with what gzip and zstd themselves produce), ?image= next to and instead of IMAGE, POST /close,
 * /version, and a missing image as a quiet answer.
 */

interface LayerAnswer {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly compression: string;
  readonly diffID?: Digest;
}

interface OciManifest {
  readonly config: { readonly digest: Digest };
  readonly layers: readonly { readonly digest: Digest; readonly size: number; readonly mediaType: string }[];
}

function jsonOf<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

/** What the standard tool makes of the blob: the reference a decompressed layer must equal. */
function decompressWithTool(tool: 'gzip' | 'zstd', bytes: Uint8Array): Buffer {
  const run = spawnSync(tool, ['-dc'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`${tool} -dc could not run (it is required by these tests): ${run.error.message}`);
  expect(run.status, `${tool} -dc: ${String(run.stderr)}`).to.equal(0);
  return run.stdout;
}

const q = (image: string): string => `image=${encodeURIComponent(image)}`;

describe('end to end: API 1.1 (layers, decompressed layers, ?image=, /close, /version)', function () {
  this.timeout(30000);
  const fixtures = standardFixtures();
  const zstdImage = fixtures.ociZstdIndex.instances[1]!;
  /** Its second layer claims a diff ID that is not its tar's. */
  const lyingLayer: FixtureLayer = {
    ...makeLayer([{ path: 'lie/' }, { path: 'lie/data', content: 'x'.repeat(200_000) }], { format: 'oci', compression: 'gzip' }),
    diffId: digestOf(Buffer.from('not this tar')),
  };
  const lyingImage = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [fixtures.ociSingle.layers[0]!, lyingLayer] });
  const otherImage = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [fixtures.ociSingle.layers[0]!], cmd: ['/bin/other'] });
  let root: string;
  let layout: string;
  let secondLayout: string;
  let dirImage: string;
  const running: ProxyProcess[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cip-api11-'));
    layout = join(root, 'layout');
    secondLayout = join(root, 'second');
    dirImage = join(root, 'dir-image');
    await writeOciLayout(layout, [
      { artifact: fixtures.ociSingle, name: 'single' },
      { artifact: zstdImage, name: 'zstd' },
      { artifact: lyingImage, name: 'lying' },
    ]);
    await writeOciLayout(secondLayout, [{ artifact: otherImage, name: 'other' }]);
    await writeDirImage(dirImage, fixtures.dockerSingle);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });

  function start(...args: string[]): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', ...args]);
    running.push(proxy);
    return proxy;
  }

  async function layersAndManifest(proxy: ProxyProcess, query = ''): Promise<{ layers: LayerAnswer[]; manifest: OciManifest; diffIds: Digest[] }> {
    const answer = await proxy.request('GET', `/layers${query}`);
    expect([answer.status, answer.headers['content-type']]).to.deep.equal([200, 'application/json; charset=utf-8']);
    expect(answer.headers['content-length']).to.equal(String(answer.body.length));
    const manifest = jsonOf<OciManifest>(await proxy.request('GET', `/manifest${query}`));
    const config = jsonOf<{ rootfs: { diff_ids: Digest[] } }>(await proxy.request('GET', `/config${query}`));
    return { layers: jsonOf<LayerAnswer[]>(answer), manifest, diffIds: config.rootfs.diff_ids };
  }

  const layerCases: readonly [string, () => string[], FixtureImage, readonly string[]][] = [
    ['an OCI image (gzip and uncompressed layers)', () => [`oci:${layout}:single`], fixtures.ociSingle, ['gzip', 'none']],
    ['a docker schema2 image (converted to OCI)', () => [`dir:${dirImage}`], fixtures.dockerSingle, ['gzip', 'gzip']],
    ['an OCI image with zstd layers', () => [`oci:${layout}:zstd`], zstdImage, ['zstd', 'zstd']],
  ];
  for (const [name, args, fixture, compressions] of layerCases) {
    it(`GET /layers for ${name}: the manifest's layers, their compression and the config's diff IDs`, async () => {
      const { layers, manifest, diffIds } = await layersAndManifest(start(...args()));
      expect(layers.map((l) => l.compression)).to.deep.equal(compressions);
      expect(layers.map((l) => l.diffID))
        .to.deep.equal(diffIds)
        .and.to.deep.equal(fixture.layers.map((l) => l.diffId));
      expect(layers.map((l) => [l.digest, l.size, l.mediaType])).to.deep.equal(manifest.layers.map((l) => [l.digest, l.size, l.mediaType]));
    });
  }

  const decompressCases: readonly [string, string, FixtureLayer][] = [
    ['gzip', 'single', fixtures.ociSingle.layers[0]!],
    ['zstd', 'zstd', zstdImage.layers[0]!],
    ['uncompressed', 'single', fixtures.ociSingle.layers[1]!],
  ];
  for (const [name, tag, layer] of decompressCases) {
    it(`?decompress=true, ${name} layer: equal to the tool's output, hashing to the diff ID (chunked unless uncompressed)`, async () => {
      const proxy = start(`oci:${layout}:${tag}`);
      const compressed = await proxy.request('GET', `/blobs/${layer.digest}`);
      expect(digestOf(compressed.body)).to.equal(layer.digest);
      const answer = await proxy.request('GET', `/blobs/${layer.digest}?decompress=true`);
      expect([answer.status, answer.complete]).to.deep.equal([200, true]);
      const expected = layer.compression === 'none' ? compressed.body : decompressWithTool(layer.compression, compressed.body);
      expect(answer.body.equals(expected), 'the same bytes as the standard tool').to.equal(true);
      expect(digestOf(answer.body)).to.equal(layer.diffId);
      if (layer.compression === 'none') expect(answer.headers['content-length']).to.equal(String(layer.bytes.length));
      else expect([answer.headers['transfer-encoding'], answer.headers['content-length']]).to.deep.equal(['chunked', undefined]);
    });
  }

  it('a layer whose config diff ID is wrong: the decompressed body never ends properly, and the proxy exits non-zero', async () => {
    const proxy = start(`oci:${layout}:lying`);
    const answer = await proxy.request('GET', `/blobs/${lyingLayer.digest}?decompress=true`);
    expect(answer.status).to.equal(200);
    expect(answer.complete, 'closed before the terminating chunk').to.equal(false);
    const tar = decompressWithTool('gzip', lyingLayer.bytes);
    expect(answer.body.length).to.be.lessThan(tar.length);
    expect(answer.body.equals(tar.subarray(0, answer.body.length))).to.equal(true);
    expect((await proxy.exited).code).to.equal(1);
    expect(proxy.stderr()).to.contain('digest-mismatch').and.to.contain(lyingLayer.diffId);
  });

  it('the same layer without decompress is served whole: its compressed digest is right', async () => {
    const proxy = start(`oci:${layout}:lying`);
    const answer = await proxy.request('GET', `/blobs/${lyingLayer.digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, lyingLayer.digest]);
  });

  it('?image= names a second layout while IMAGE keeps serving the first, on one connection', async () => {
    const proxy = start(`oci:${layout}:single`);
    const second = q(`oci:${secondLayout}:other`);
    const first = await proxy.request('GET', '/manifest');
    const other = await proxy.request('GET', `/manifest?${second}`);
    expect(first.headers['instance-digest']).to.equal(fixtures.ociSingle.manifest.digest);
    expect(other.headers['instance-digest']).to.equal(otherImage.manifest.digest);
    expect(digestOf((await proxy.request('GET', `/config?${second}`)).body)).to.equal(otherImage.config.digest);
    const layers = jsonOf<LayerAnswer[]>(await proxy.request('GET', `/layers?${second}`));
    expect(layers.map((l) => l.digest)).to.deep.equal(otherImage.layers.map((l) => l.digest));
    const notInOther = fixtures.ociSingle.layers[1]!.digest;
    const refused = await proxy.request('GET', `/blobs/${notInOther}?${second}`);
    expect([refused.status, jsonOf<{ code: string }>(refused).code]).to.deep.equal([404, 'blob-not-found']);
    expect((await proxy.request('GET', `/blobs/${notInOther}`)).status, 'the command-line image still has it').to.equal(200);
  });

  it('without IMAGE: every request must name one (400 otherwise) and any can be served', async () => {
    const proxy = start();
    for (const path of ['/manifest', '/config', '/layers', `/blobs/${fixtures.ociSingle.layers[0]!.digest}`]) {
      const answer = await proxy.request('GET', path);
      expect([answer.status, jsonOf<{ code: string }>(answer).code], path).to.deep.equal([400, 'bad-request']);
    }
    const named = await proxy.request('GET', `/manifest?${q(`oci:${layout}:single`)}`);
    expect([named.status, named.headers['instance-digest']]).to.deep.equal([200, fixtures.ociSingle.manifest.digest]);
    const closeWithout = await proxy.request('POST', '/close');
    expect([closeWithout.status, jsonOf<{ code: string }>(closeWithout).code]).to.deep.equal([400, 'bad-request']);
  });

  it('POST /close drops the resolved image: a moved tag is seen only after it', async () => {
    const moving = join(root, 'moving');
    await writeOciLayout(moving, [{ artifact: fixtures.ociSingle, name: 'current' }]);
    const image = q(`oci:${moving}:current`);
    const proxy = start();
    expect((await proxy.request('GET', `/manifest?${image}`)).headers['instance-digest']).to.equal(fixtures.ociSingle.manifest.digest);
    await writeOciLayout(moving, [{ artifact: otherImage, name: 'current' }]);
    expect((await proxy.request('GET', `/manifest?${image}`)).headers['instance-digest'], 'still the cached resolution').to.equal(
      fixtures.ociSingle.manifest.digest,
    );
    const closed = await proxy.request('POST', `/close?${image}`);
    expect([closed.status, closed.body.length]).to.deep.equal([200, 0]);
    expect((await proxy.request('GET', `/manifest?${image}`)).headers['instance-digest'], 'resolved again').to.equal(otherImage.manifest.digest);
  });

  it('GET /version: the package version and API 1.1', async () => {
    const proxy = start();
    const answer = await proxy.request('GET', '/version');
    expect([answer.status, answer.headers['content-type']]).to.deep.equal([200, 'application/json; charset=utf-8']);
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(jsonOf<unknown>(answer)).to.deep.equal({ version, apiVersion: '1.1' });
  });

  it('?image=oci:/nonexistent: 404 image-not-found, nothing on stderr, and the session goes on', async () => {
    const proxy = start(`oci:${layout}:single`);
    const missing = await proxy.request('GET', `/manifest?${q('oci:/nonexistent')}`);
    expect([missing.status, jsonOf<{ code: string }>(missing).code]).to.deep.equal([404, 'image-not-found']);
    expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
    expect((await proxy.request('POST', '/quit')).status).to.equal(200);
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    expect(proxy.stderr()).to.equal('');
  });
});
