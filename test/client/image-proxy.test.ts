import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { defaultCommand, ImageProxy } from '../../src/client/index.js';
import { rejection, sha256Of } from './client-assertions.js';
import { exampleImage } from '../support/example-image.js';
import { CLI_PATH, REPO_ROOT } from '../support/spawn-proxy.js';
import { type ClientImages } from './client-images.js';
import { clientSuite } from './client-suite.js';

describe('TypeScript client: ImageProxy over a real proxy', function () {
  this.timeout(30000);
  const suite = clientSuite();
  const { start, track } = suite;
  const sha256Hex = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  let images: ClientImages;
  before(() => {
    images = suite.images();
  });

  it("runs this package's bundled CLI under the current Node, with its shebang's Node options, by default", async () => {
    const command = defaultCommand();
    expect([command[0], command.at(-1)]).to.deep.equal([process.execPath, CLI_PATH]);
    const [shebang] = (await readFile(CLI_PATH, 'utf8')).split('\n', 1);
    const nodeOptions = /\bnode (.*)$/.exec(shebang!)?.[1]?.split(' ') ?? [];
    expect(nodeOptions.length).to.be.greaterThan(0);
    expect(command.slice(1, -1)).to.deep.equal(nodeOptions);
  });

  it("gives the default command the variables the bin's shebang sets (MALLOC_ARENA_MAX)", async () => {
    const proxy = await ImageProxy.spawn({ image: 'oci:examples/image:latest', args: ['--policy', 'examples/policy.json'], cwd: REPO_ROOT });
    track(proxy);
    const environ = (await readFile(`/proc/${proxy.child.pid}/environ`, 'utf8')).split('\0');
    expect(environ).to.include('MALLOC_ARENA_MAX=1');
    await proxy.quit();
  });

  it('gives any other command (the single executable) MALLOC_ARENA_MAX=1 as well, unless the env given sets it', async () => {
    const { MALLOC_ARENA_MAX: _inherited, ...env } = process.env;
    const arenasOf = async (extra: NodeJS.ProcessEnv): Promise<string[]> => {
      const proxy = track(
        await ImageProxy.spawn({
          command: defaultCommand(),
          image: 'oci:examples/image:latest',
          args: ['--insecure-policy'],
          cwd: REPO_ROOT,
          env: { ...env, ...extra },
        }),
      );
      const environ = (await readFile(`/proc/${proxy.child.pid}/environ`, 'utf8')).split('\0');
      await proxy.quit();
      return environ.filter((entry) => entry.startsWith('MALLOC_ARENA_MAX='));
    };
    expect(await arenasOf({})).to.deep.equal(['MALLOC_ARENA_MAX=1']);
    expect(await arenasOf({ MALLOC_ARENA_MAX: '2' })).to.deep.equal(['MALLOC_ARENA_MAX=2']);
  });

  it('fetches the bundled example image (manifest, config, every blob) and quits with 0', async () => {
    const example = exampleImage();
    const amd64 = example.instances[0]!;
    const proxy = await ImageProxy.spawn({
      image: 'oci:examples/image:latest',
      args: ['--policy', 'examples/policy.json', '--override-arch', 'amd64'],
      cwd: REPO_ROOT,
    });
    track(proxy);
    const answer = await proxy.manifest();
    expect(answer.digest).to.equal(example.manifest.digest);
    expect(answer.instanceDigest).to.equal(amd64.manifest.digest);
    expect(answer.bytes.equals(Buffer.from(amd64.manifest.bytes))).to.equal(true);
    expect(answer.manifest.layers.map((layer) => layer.digest)).to.deep.equal(amd64.layers.map((layer) => layer.digest));
    expect(await proxy.config()).to.deep.equal(JSON.parse(Buffer.from(amd64.config.bytes).toString('utf8')));
    for (const descriptor of [answer.manifest.config, ...answer.manifest.layers]) {
      const { digest, bytes } = await sha256Of(await proxy.blob(descriptor.digest));
      expect([digest, bytes.length]).to.deep.equal([descriptor.digest, descriptor.size]);
    }
    await proxy.quit();
    expect(proxy.child.exitCode).to.equal(0);
  });

  it('streams a 2 MiB blob whole', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large` });
    const layer = images.fixtures.ociLarge.layers[0]!;
    const { digest, bytes } = await sha256Of(await proxy.blob(layer.digest));
    expect([digest, bytes.length]).to.deep.equal([layer.digest, layer.bytes.length]);
  });

  const errors: readonly [string, (proxy: ImageProxy, layout: string) => Promise<unknown>, string, number][] = [
    ['a digest the image does not reference', (proxy) => proxy.blob(`sha256:${'0'.repeat(64)}`), 'blob-not-found', 404],
    ['a malformed digest', (proxy) => proxy.blob('sha256:ABC'), 'bad-request', 400],
    ['a missing tag through ?image=', (proxy, layout) => proxy.manifest(`oci:${layout}:missing`), 'image-not-found', 404],
    ['an image name without transport', (proxy) => proxy.config('busybox'), 'invalid-reference', 400],
    ['a decompressed blob of a missing digest', (proxy) => proxy.decompressedLayer(`sha256:${'1'.repeat(64)}`), 'blob-not-found', 404],
  ];
  for (const [why, call, code, status] of errors) {
    it(`rejects with the proxy's code for ${why} (${code}) and keeps the connection`, async () => {
      const proxy = await start({ image: `oci:${images.layout}:single` });
      const err = await rejection(call(proxy, images.layout));
      expect([err.code, err.status]).to.deep.equal([code, status]);
      expect(err.message).to.not.equal('');
      expect((await proxy.manifest()).instanceDigest).to.equal(images.fixtures.ociSingle.manifest.digest);
    });
  }

  it("reports the command line image's absence as image-not-found, and openImageOptional as false", async () => {
    const proxy = await start({ image: `oci:${images.layout}:missing` });
    const err = await rejection(proxy.manifest());
    expect([err.code, err.status]).to.deep.equal(['image-not-found', 404]);
    expect(err.message).to.contain('missing');
    expect(await proxy.openImageOptional(`oci:${images.layout}:nothing-here`)).to.equal(false);
    expect(await proxy.openImageOptional(`oci:${images.layout}:single`)).to.equal(true);
    await proxy.quit();
  });

  const corruptReads: readonly [string, (proxy: ImageProxy, digest: string) => Promise<Readable>][] = [
    ['a corrupt blob (Content-Length)', (proxy, digest) => proxy.blob(digest)],
    ['a corrupt layer read decompressed (chunked)', (proxy, digest) => proxy.decompressedLayer(digest)],
  ];
  for (const [what, read] of corruptReads) {
    it(`fails ${what} with incomplete-body and the proxy's reason, then every call with proxy-failed`, async () => {
      const layer = images.fixtures.ociLarge.layers[0]!;
      const proxy = await start({ image: `oci:${images.corruptLayout}:large` });
      const err = await rejection(sha256Of(await read(proxy, layer.digest)));
      expect([err.code, err.status]).to.deep.equal(['incomplete-body', 0]);
      expect(err.message).to.contain(layer.digest).and.to.contain('exited with code 1: container-image-proxy: digest-mismatch');
      const after = await rejection(proxy.manifest());
      expect(after.code).to.equal('proxy-failed');
      expect(after.message).to.contain('GET /manifest: the proxy exited with code 1: container-image-proxy: digest-mismatch');
      expect(await proxy.kill()).to.deep.equal({ code: 1, signal: null });
    });
  }

  /** Runs pipe-blob-child.js to its end, or kills it after 20 s (a reader left waiting). */
  async function pipeInChild(
    image: string,
    digest: string,
    output: string,
  ): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./pipe-blob-child.js', import.meta.url)), image, digest, output], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    clearTimeout(timer);
    return { code, signal, stdout, stderr };
  }

  it('a blob piped to a file with no error listener: a corrupt body ends the program with incomplete-body instead of leaving it waiting', async function () {
    this.timeout(60_000);
    const layer = images.fixtures.ociLarge.layers[0]!;
    const dir = await mkdtemp(join(tmpdir(), 'pipe-blob-'));
    try {
      const whole = await pipeInChild(`oci:${images.layout}:large`, layer.digest, join(dir, 'whole'));
      expect([whole.code, whole.stdout], whole.stderr).to.deep.equal([0, 'finished\n']);
      expect(sha256Hex(await readFile(join(dir, 'whole')))).to.equal(layer.digest);

      const corrupt = await pipeInChild(`oci:${images.corruptLayout}:large`, layer.digest, join(dir, 'corrupt'));
      expect([corrupt.signal, corrupt.code, corrupt.stdout], 'the program ends by itself, failed').to.deep.equal([null, 1, '']);
      expect(corrupt.stderr).to.contain('incomplete-body').and.to.contain('digest-mismatch');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists layers with compression and diffID', async () => {
    const proxy = await start({ image: `oci:${images.mixedLayout}:mixed` });
    expect(await proxy.layers()).to.deep.equal(
      images.mixed.layers.map((layer) => ({
        digest: layer.digest,
        size: layer.bytes.length,
        mediaType: layer.mediaType,
        compression: layer.compression,
        diffID: layer.diffId,
      })),
    );
  });

  it('streams zstd, gzip and uncompressed layers as the tar whose digest is the diffID', async () => {
    const proxy = await start({ image: `oci:${images.mixedLayout}:mixed` });
    for (const layer of images.mixed.layers) {
      const { digest, bytes } = await sha256Of(await proxy.decompressedLayer(layer.digest));
      expect(digest, `${layer.compression} layer`).to.equal(layer.diffId);
      if (layer.compression === 'gzip') expect(bytes.equals(gunzipSync(layer.bytes))).to.equal(true);
      if (layer.compression === 'none') expect(bytes.equals(Buffer.from(layer.bytes))).to.equal(true);
    }
  });

  it('serves several images by ?image= without a command line image, and drops one with closeImage', async () => {
    const proxy = await start({});
    const single = `oci:${images.layout}:single`;
    const multi = `oci:${images.layout}:multi`;
    await proxy.openImage(single);
    expect((await proxy.manifest(single)).instanceDigest).to.equal(images.fixtures.ociSingle.manifest.digest);
    expect((await proxy.manifest(multi)).digest).to.equal(images.fixtures.ociIndex.manifest.digest);
    const layer = images.fixtures.ociSingle.layers[0]!;
    expect((await sha256Of(await proxy.blob(layer.digest, { image: single }))).digest).to.equal(layer.digest);
    await proxy.closeImage(single);
    expect((await proxy.config(single)).architecture).to.equal('amd64');
    await proxy.quit();
  });

  it('reports the package version and the API version', async () => {
    const { version } = JSON.parse(await readFile(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const proxy = await start({});
    const answer = await proxy.version();
    expect(answer.version).to.equal(version);
    expect(answer.apiVersion).to.match(/^\d+\.\d+$/);
  });

  it('rejects a call whose signal is already aborted with cancelled, without using up a connection', async () => {
    const proxy = await start({ image: `oci:${images.layout}:single` });
    const err = await rejection(proxy.config(undefined, { signal: AbortSignal.abort() }));
    expect([err.code, err.status, err.message]).to.deep.equal(['cancelled', 0, 'GET /config: cancelled, aborted']);
    expect(proxy.openConnections).to.equal(4);
    expect((await proxy.config()).architecture).to.equal('amd64');
  });

  it('rejects with proxy-failed when the command cannot be started', async () => {
    const err = await rejection(ImageProxy.spawn({ command: ['/nonexistent/container-image-proxy'] }));
    expect([err.code, err.status]).to.deep.equal(['proxy-failed', 0]);
    expect(err.message).to.contain('/nonexistent/container-image-proxy');
  });

  it('kills a running proxy', async () => {
    const proxy = await start({ image: `oci:${images.layout}:single` });
    expect(await proxy.kill()).to.deep.equal({ code: null, signal: 'SIGKILL' });
  });
});
