/**
 * examples/pull.ts: its progress display (pure, then on a fake terminal) and the example itself
 * over a real proxy, with stderr a pipe (plain lines) and a pseudo-terminal (`script` from
 * util-linux: the bar redrawn in place).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { barLine, formatBytes, plainLine, ProgressDisplay } from '../../examples/progress-display.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { execute, type Exited } from './rust-cargo.js';
import { spawn } from 'node:child_process';
import { startCappedFront } from '../support/capped-front.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { makeImage, makeLargeLayer } from '../support/image-fixtures.js';

const PULL_JS = join(REPO_ROOT, 'dist/examples/pull.js');
const digest = `sha256:${'9715426f1ca0'.padEnd(64, 'e')}`;

describe('examples/pull.ts progress display', () => {
  it('formats sizes in binary units, bytes whole', () => {
    expect([0, 1023, 1536, 2 * 1024 * 1024 + 2048, 3 * 1024 ** 3].map(formatBytes)).to.deep.equal(['0 B', '1023 B', '1.5 KiB', '2.0 MiB', '3.0 GiB']);
  });

  it('draws a bar with the share done, and bytes alone when the total is unknown', () => {
    const half = { index: 2, count: 5, digest, bytes: 1024 * 1024, total: 2 * 1024 * 1024 };
    expect(barLine(half)).to.equal(`[2/5] sha256:9715426f1ca0 [############............]  50 %  1.0 MiB of 2.0 MiB`);
    expect(barLine({ ...half, bytes: half.total })).to.equal(`[2/5] sha256:9715426f1ca0 [########################] 100 %  2.0 MiB of 2.0 MiB`);
    expect(barLine({ ...half, bytes: 0, total: 0 })).to.include('[########################] 100 %');
    expect(barLine({ ...half, total: undefined })).to.equal('[2/5] sha256:9715426f1ca0 1.0 MiB');
  });

  it('writes exact figures and the whole digest in plain lines', () => {
    expect(plainLine({ index: 1, count: 1, digest, bytes: 1000, total: 4000 })).to.equal(`layer 1/1 ${digest}: 1000 of 4000 bytes (25 %)`);
    expect(plainLine({ index: 1, count: 1, digest, bytes: 1000, total: undefined })).to.equal(`layer 1/1 ${digest}: 1000 bytes`);
  });

  it('redraws one line in place on a terminal, cut to its width, and ends it once; a line per update elsewhere', () => {
    const written = (isTTY: boolean, columns?: number) => {
      const out = { isTTY, columns, text: '', write: (text: string) => (out.text += text) };
      const display = new ProgressDisplay(out);
      display.update({ index: 1, count: 1, digest, bytes: 1, total: 4 });
      display.update({ index: 1, count: 1, digest, bytes: 4, total: 4 });
      display.end();
      display.end();
      return out.text;
    };
    const bar = (share: string, filled: number) =>
      `[1/1] sha256:9715426f1ca0 [${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ${share} %  ${share === '100' ? 4 : 1} B of 4 B`;
    expect(written(true)).to.equal(`\r${bar(' 25', 6)}\x1b[K\r${bar('100', 24)}\x1b[K\n`);
    expect(written(true, 30)).to.equal(`\r${bar(' 25', 6).slice(0, 29)}\x1b[K\r${bar('100', 24).slice(0, 29)}\x1b[K\n`);
    expect(written(false)).to.equal(`layer 1/1 ${digest}: 1 of 4 bytes (25 %)\nlayer 1/1 ${digest}: 4 of 4 bytes (100 %)\n`);
  });
});

describe('examples/pull.ts over a real proxy', function () {
  this.timeout(30_000);
  let images: ClientImages;
  let workDir: string;
  let next = 0;
  const freshDir = () => join(workDir, `pull-${++next}`);
  const sha256File = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

  before(async () => {
    images = await writeClientImages();
    workDir = makeTempDir('pull-example');
  });
  after(async () => {
    await images?.cleanup();
    if (workDir) removeTempDir(workDir);
  });

  const pull = (image: string, dir: string): Promise<Exited> =>
    execute(process.execPath, [PULL_JS, image, dir, '--insecure-policy'], { env: process.env, cwd: REPO_ROOT, timeoutMs: 20_000 });

  it('writes plain progress lines to a pipe, each layer ending at 100 %, and every layer under its digest', async () => {
    const dir = freshDir();
    const run = await pull(`oci:${images.mixedLayout}:mixed`, dir);
    expect(run.code, run.stderr).to.equal(0);
    const layers = images.mixed.layers;
    expect(run.stderr).to.not.include('\r').and.not.include('\x1b');
    const lines = run.stderr.trimEnd().split('\n');
    expect(
      lines.every((line) => /^layer \d\/3 sha256:[0-9a-f]{64}: \d+ of \d+ bytes \(\d+ %\)$/.test(line)),
      run.stderr,
    ).to.equal(true);
    const lastOfEach = layers.map((_, i) => lines.filter((line) => line.startsWith(`layer ${i + 1}/3 `)).at(-1));
    expect(lastOfEach).to.deep.equal(
      layers.map((layer, i) => `layer ${i + 1}/3 ${layer.digest}: ${layer.bytes.length} of ${layer.bytes.length} bytes (100 %)`),
    );
    expect(readdirSync(join(dir, 'blobs/sha256')).sort()).to.deep.equal(layers.map((layer) => layer.digest.slice(7)).sort());
    for (const layer of layers) expect(sha256File(join(dir, 'blobs/sha256', layer.digest.slice(7)))).to.equal(layer.digest);
    expect(run.stdout).to.match(/^pulled 3 layer\(s\), [\d.]+ KiB, into .*blobs\n$/);
  });

  it('draws a bar redrawn in place on a terminal (script from util-linux gives it a pseudo-terminal)', async () => {
    const dir = freshDir();
    const layer = images.fixtures.ociLarge.layers[0]!;
    const command = [process.execPath, PULL_JS, `oci:${images.layout}:large`, dir, '--insecure-policy'].map((word) => `'${word}'`).join(' ');
    const run = await execute('script', ['-qec', command, '/dev/null'], { env: process.env, cwd: REPO_ROOT, timeoutMs: 20_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.not.include('layer 1/1');
    expect(run.stdout).to.include(`\r[1/1] ${layer.digest.slice(0, 19)} [########################] 100 %  2.0 MiB of 2.0 MiB\x1b[K\r\n`);
    expect(run.stdout).to.include('pulled 1 layer(s), 2.0 MiB');
    expect(sha256File(join(dir, 'blobs/sha256', layer.digest.slice(7)))).to.equal(layer.digest);
  });

  it('fails a corrupt layer with incomplete-body and exit 1, leaving no file under its digest and no partial file', async () => {
    const dir = freshDir();
    const layer = images.fixtures.ociLarge.layers[0]!;
    const run = await pull(`oci:${images.corruptLayout}:large`, dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`pull oci:${images.corruptLayout}:large: [incomplete-body] blob ${layer.digest}`);
    expect(run.stderr).to.not.include('(100 %)');
    expect(existsSync(join(dir, 'blobs/sha256')) ? readdirSync(join(dir, 'blobs/sha256')) : []).to.deep.equal([]);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} mid-layer cancels it: no partial file, nothing under its digest, 128 + the signal's number`, async () => {
      // A registry 1 MiB/s away, so the 6 MiB layer is still coming when the signal arrives.
      const image = makeImage({ format: 'oci', platform: { os: 'linux', architecture: 'amd64' }, layers: [makeLargeLayer(6 * 1024 * 1024, 'oci')] });
      const registry = await FakeRegistry.start();
      registry.putManifest('pull/large', image.manifest.bytes, image.manifest.mediaType, 'v1');
      for (const blob of [image.config, ...image.layers]) registry.putBlob('pull/large', blob.bytes);
      const [host, port] = registry.host.split(':');
      const front = await startCappedFront({ target: { host: host!, port: Number(port) }, bytesPerSecond: 1024 * 1024, delayMs: 0 });
      try {
        const dir = freshDir();
        const child = spawn(process.execPath, [PULL_JS, `docker://${front.host}/pull/large:v1`, dir, '--insecure-policy', '--tls-verify=false'], {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            // The layer is under way: a progress line short of its whole size.
            if (/^layer 1\/1 sha256:[0-9a-f]{64}: [1-9]\d* of \d+ bytes/m.test(stderr)) resolve();
          });
          void exited.then(() => reject(new Error(`pull ended before any progress: ${stderr}`)));
        });
        const partial = join(dir, 'blobs/sha256', `${image.layers[0]!.digest.slice(7)}.partial`);
        expect(existsSync(partial), 'the layer is being written to its partial file').to.equal(true);
        child.kill(signal);
        expect(await exited, stderr).to.equal(signal === 'SIGINT' ? 130 : 143);
        expect(stderr).to.include(`pull docker://${front.host}/pull/large:v1: interrupted by ${signal}`).and.not.include('(100 %)');
        expect(readdirSync(join(dir, 'blobs/sha256'))).to.deep.equal([]);
      } finally {
        await front.close();
        await registry.close();
      }
    });
  }
});
