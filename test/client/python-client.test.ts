import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { exampleImage } from '../support/example-image.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { requireTool } from '../e2e/e2e-images.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { pythonAvailable, runScenario } from './python-driver.js';

interface ProxyErrorJson {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  /** str(err) */
  readonly str: string;
}

interface Streamed {
  readonly sha256: string;
  readonly size: number;
}

describe('Python client: clients/python/container_image_proxy.py over a real proxy', function () {
  this.timeout(40000);
  let images: ClientImages;

  before(async function () {
    requireTool(this, pythonAvailable, 'python3');
    images = await writeClientImages();
  });
  after(async () => {
    await images?.cleanup();
  });

  it('fetches the bundled example image, answers errors with the proxy codes on a usable connection, quits with 0', () => {
    const example = exampleImage();
    const amd64 = example.instances[0]!;
    const bad = [`sha256:${'0'.repeat(64)}`, 'sha256:ABC'];
    const out = runScenario<{
      digest: string;
      instance_digest: string;
      manifest_sha256: string;
      config: unknown;
      blobs: (Streamed & { digest: string })[];
      errors: (ProxyErrorJson & { then: string })[];
      exit: number;
    }>('fetch', { image: 'oci:examples/image:latest', args: ['--policy', 'examples/policy.json', '--override-arch', 'amd64'], bad_digests: bad });
    expect([out.digest, out.instance_digest, out.manifest_sha256]).to.deep.equal([example.manifest.digest, amd64.manifest.digest, amd64.manifest.digest]);
    expect(out.config).to.deep.equal(JSON.parse(Buffer.from(amd64.config.bytes).toString('utf8')));
    expect(out.blobs).to.deep.equal([amd64.config, ...amd64.layers].map((blob) => ({ digest: blob.digest, sha256: blob.digest, size: blob.bytes.length })));
    expect(out.errors.map((e) => [e.code, e.status, e.then])).to.deep.equal([
      ['blob-not-found', 404, amd64.manifest.digest],
      ['bad-request', 400, amd64.manifest.digest],
    ]);
    expect(out.exit).to.equal(0);
  });

  it('gives the proxy MALLOC_ARENA_MAX=1 unless its environment sets it', () => {
    const { MALLOC_ARENA_MAX: _inherited, ...env } = process.env;
    const image = 'oci:examples/image:latest';
    expect(runScenario<string[]>('environ', { image }, env)).to.deep.equal(['MALLOC_ARENA_MAX=1']);
    expect(runScenario<string[]>('environ', { image }, { ...env, MALLOC_ARENA_MAX: '2' })).to.deep.equal(['MALLOC_ARENA_MAX=2']);
    expect(runScenario<string[]>('environ', { image, env: { PATH: env.PATH ?? '', MALLOC_ARENA_MAX: '3' } }, env)).to.deep.equal(['MALLOC_ARENA_MAX=3']);
  });

  it('reports a missing image as image-not-found and open_image_optional as False', () => {
    const out = runScenario<{ manifest: ProxyErrorJson; optional_missing: boolean; optional_present: boolean; exit: number }>('missing', {
      image: `oci:${images.layout}:missing`,
      other_missing: `oci:${images.layout}:nothing-here`,
      present: `oci:${images.layout}:single`,
    });
    expect([out.manifest.code, out.manifest.status]).to.deep.equal(['image-not-found', 404]);
    expect([out.optional_missing, out.optional_present, out.exit]).to.deep.equal([false, true, 0]);
  });

  for (const decompress of [false, true]) {
    const what = decompress ? 'a corrupt layer read decompressed (chunked)' : 'a corrupt blob (Content-Length)';
    it(`raises incomplete-body for ${what} with the proxy's reason, then proxy-failed, and the proxy exits 1`, () => {
      const layer = images.fixtures.ociLarge.layers[0]!;
      const out = runScenario<{ blob: ProxyErrorJson; again: ProxyErrorJson[]; after: ProxyErrorJson; exit: number }>('truncated', {
        image: `oci:${images.corruptLayout}:large`,
        digest: layer.digest,
        decompress,
      });
      expect([out.blob.code, out.blob.status]).to.deep.equal(['incomplete-body', 0]);
      expect(out.blob.message).to.contain(layer.digest).and.to.contain('exited with code 1: container-image-proxy: digest-mismatch');
      if (!decompress) expect(out.blob.message).to.contain(`of ${layer.bytes.length} bytes`);
      expect(out.blob.str).to.equal(`incomplete-body: ${out.blob.message}`);
      expect(out.again, 'reads after the error raise it again, never a clean EOF').to.deep.equal([out.blob, out.blob]);
      expect(out.after.code).to.equal('proxy-failed');
      expect(out.after.message).to.contain('GET /manifest: the proxy exited with code 1: container-image-proxy: digest-mismatch');
      expect(out.exit).to.equal(1);
    });
  }

  const startFailures = [
    {
      why: 'a typo in an option',
      args: ['--bogus'],
      connections: 1,
      textStderr: false,
      exit: 2,
      line: 'container-image-proxy: unknown option --bogus (see --help)',
    },
    {
      why: 'no policy.json, stderr to a text stream',
      args: ['--policy', '/nonexistent/policy.json'],
      connections: 4,
      textStderr: true,
      exit: 1,
      line: 'container-image-proxy: policy-invalid: cannot read policy /nonexistent/policy.json: ENOENT',
    },
  ];
  for (const { why, args, connections, textStderr, exit, line } of startFailures) {
    it(`raises proxy-failed with the proxy's stderr line and exit status for every pending and later call: ${why}`, () => {
      const out = runScenario<{ pending: ProxyErrorJson[]; later: ProxyErrorJson; stderr: string; exit: number }>('start-failure', {
        image: 'oci:/nonexistent/layout:tag',
        args,
        connections,
        text_stderr: textStderr,
      });
      const expected = (what: string) => {
        const message = `${what}: the proxy exited with code ${exit}: ${line}`;
        return { code: 'proxy-failed', status: 0, message, str: `proxy-failed: ${message}` };
      };
      expect(out.pending).to.deep.equal([expected('GET /manifest'), expected('GET /manifest')]);
      expect(out.later).to.deep.equal(expected('GET /layers'));
      expect([out.stderr, out.exit]).to.deep.equal([`${line}\n`, exit]);
    });
  }

  it('extracts every layer with tarfile in stream mode, each reader closed at the archive end, on a still usable client', () => {
    const out = runScenario<{ files: Record<string, string>; open: number; then: string; exit: number }>('extract-layers', {
      image: `oci:${images.mixedLayout}:mixed`,
    });
    const expected = Object.fromEntries(
      ['zstd', 'gzip', 'plain'].map((name) => [
        `${name}/data.txt`,
        createHash('sha256').update(`${name} layer of the client test image\n`.repeat(50)).digest('hex'),
      ]),
    );
    expect(out.files).to.deep.equal(expected);
    expect([out.open, out.then, out.exit]).to.deep.equal([4, images.mixed.manifest.digest, 0]);
  });

  it('downloads blobs from several threads at once over the pool', () => {
    const out = runScenario<{ blobs: Streamed[]; open: number }>('parallel', { image: `oci:${images.mixedLayout}:mixed`, connections: 3 });
    expect(out.blobs).to.deep.equal(images.mixed.layers.map((layer) => ({ sha256: layer.digest, size: layer.bytes.length })));
    expect(out.open).to.equal(3);
  });

  it('ends a call waiting for a connection by its timeout or a Cancellation from another thread, closing no connection', () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const out = runScenario<{ timed_out: ProxyErrorJson; cancelled: ProxyErrorJson; held: Streamed; open: number; then: string }>('waiting', {
      image: `oci:${images.layout}:large`,
      digest: layer.digest,
      connections: 1,
    });
    expect(out.timed_out).to.deep.equal({
      code: 'cancelled',
      status: 0,
      message: 'GET /config: cancelled, timed out after 0.3 s',
      str: 'cancelled: GET /config: cancelled, timed out after 0.3 s',
    });
    expect([out.cancelled.code, out.cancelled.message]).to.deep.equal(['cancelled', 'GET /config: cancelled, aborted']);
    expect([out.held, out.open, out.then]).to.deep.equal([{ sha256: layer.digest, size: layer.bytes.length }, 1, 'amd64']);
  });

  it('a Cancellation runs its watchers under its lock: unwatching waits for a drop in progress, so a connection given back is never dropped under its next call', () => {
    const out = runScenario<{ owner_waited: boolean; events: string[]; late: string[]; cancelled: boolean[] }>('unwatch-during-cancel', {});
    expect(out).to.deep.equal({ owner_waited: true, events: ['dropped', 'unwatched'], late: [], cancelled: [true, true] });
  });

  it('cancels, times out and closes blobs mid-body, each closing its connection only, until none is left', () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const out = runScenario<{
      cancelled: ProxyErrorJson;
      open_after_cancel: number;
      timed_out: ProxyErrorJson;
      open_after_timeout: number;
      open_after_close: number;
      then: Streamed;
      exhausted: ProxyErrorJson;
      exit: number;
    }>('cancel-body', { image: `oci:${images.layout}:large`, digest: layer.digest, connections: 4 });
    expect([out.cancelled.code, out.cancelled.message]).to.deep.equal(['cancelled', `blob ${layer.digest}: cancelled, aborted`]);
    expect([out.timed_out.code, out.timed_out.message]).to.deep.equal(['cancelled', `blob ${layer.digest}: cancelled, timed out after 1 s`]);
    expect([out.open_after_cancel, out.open_after_timeout, out.open_after_close]).to.deep.equal([3, 2, 1]);
    expect(out.then).to.deep.equal({ sha256: layer.digest, size: layer.bytes.length });
    expect(out.exhausted.code).to.equal('connection-closed');
    expect(out.exhausted.message).to.match(/^GET \/manifest: no connection to the proxy is left \(each cancelled transfer closes one\)/);
    expect(out.exit).to.equal(0);
  });

  it('serves layers, decompressed layers and several images by image=, with close_image and version', async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const out = runScenario<{
      version: { version: string; apiVersion: string };
      layers: unknown[];
      decompressed: Streamed[];
      blob: Streamed;
      other: string;
      after_close: string;
      exit: number;
    }>('many-images', { image: `oci:${images.mixedLayout}:mixed`, other: `oci:${images.layout}:multi` });
    const layers = images.mixed.layers;
    expect(out.version.version).to.equal(version);
    expect(out.layers).to.deep.equal(
      layers.map((layer) => ({
        digest: layer.digest,
        size: layer.bytes.length,
        mediaType: layer.mediaType,
        compression: layer.compression,
        diffID: layer.diffId,
      })),
    );
    expect(out.decompressed.map((tar) => tar.sha256)).to.deep.equal(layers.map((layer) => layer.diffId));
    expect(out.blob).to.deep.equal({ sha256: layers[0]!.digest, size: layers[0]!.bytes.length });
    expect([out.other, out.after_close, out.exit]).to.deep.equal([images.fixtures.ociIndex.manifest.digest, 'amd64', 0]);
  });

  it('raises proxy-failed when the command cannot be started', () => {
    const out = runScenario<{ spawn: ProxyErrorJson }>('unstartable', { command: ['/nonexistent/container-image-proxy'] });
    expect([out.spawn.code, out.spawn.status]).to.deep.equal(['proxy-failed', 0]);
    expect(out.spawn.message).to.contain('/nonexistent/container-image-proxy');
  });
});
