/**
 * The Rust client's `Blob::on_progress` through a real proxy: clients/rust/examples/blob.rs
 * writes a blob to stdout with a progress line per call on stderr (with the milliseconds since
 * the blob was opened). This test reads that stdout slowly, so backpressure holds the blob to
 * ~2 MiB a second on any machine; extract.rs shows the decompressed reads' lines.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { expect } from 'chai';
import { requireTool } from '../e2e/e2e-images.js';
import { lastLines, makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { cargoTest, exampleEnv, examplePath, runExample, rustToolchainMissing } from './rust-cargo.js';

const BYTES_PER_SECOND = 2 * 1024 * 1024;
const LINE = /^(sha256:[0-9a-f]{64}): (\d+) of (\d+|\?) bytes after (\d+) ms$/;

interface Line {
  readonly digest: string;
  readonly bytes: number;
  readonly total: number | undefined;
  readonly ms: number;
}

interface SlowRun {
  readonly code: number | null;
  readonly digest: string;
  readonly size: number;
  readonly lines: Line[];
  readonly stderr: string;
}

/** Runs examples/blob.rs, reading its stdout at BYTES_PER_SECOND: a pause after each chunk. */
async function blobReadSlowly(args: readonly string[]): Promise<SlowRun> {
  const child = spawn(examplePath('blob'), args, { env: exampleEnv(), cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const hash = createHash('sha256');
  let size = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), (chunk.length / BYTES_PER_SECOND) * 1000);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const lines = stderr
    .split('\n')
    .map((line) => LINE.exec(line))
    .filter((match) => match !== null)
    .map(([, digest, bytes, total, ms]) => ({ digest: digest!, bytes: Number(bytes), total: total === '?' ? undefined : Number(total), ms: Number(ms) }));
  return { code, digest: `sha256:${hash.digest('hex')}`, size, lines, stderr };
}

describe('Rust client: Blob::on_progress over a real proxy', function () {
  this.timeout(60_000);
  let images: ClientImages;
  let workDir: string;

  before(async function () {
    this.timeout(20 * 60_000); // a first build compiles hyper and tokio
    const missing = rustToolchainMissing();
    requireTool(this, missing === undefined, missing ?? '');
    const built = await cargoTest();
    if (built.code !== 0) throw new Error(`cargo test failed (${built.code}):\n${lastLines(built.stdout + built.stderr, 60)}`);
    images = await writeClientImages();
    workDir = makeTempDir('rust-progress');
  });
  after(async () => {
    await images?.cleanup();
    if (workDir) removeTempDir(workDir);
  });

  it('calls at most every 100 ms while a 2 MiB blob streams for ~1 s, bytes rising to its size, then once at its end', async () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const run = await blobReadSlowly([`oci:${images.layout}:large`, layer.digest, '--insecure-policy']);
    expect(run.code, run.stderr).to.equal(0);
    expect([run.digest, run.size]).to.deep.equal([layer.digest, layer.bytes.length]);
    const { lines } = run;
    const elapsed = lines.at(-1)!.ms;
    expect(elapsed, 'the slow reader sets the pace').to.be.at.least(800);
    expect(lines.length, 'calls while it streams, not only the final one').to.be.at.least(3);
    expect(lines.length, `${lines.length} calls in ${elapsed} ms`).to.be.at.most(Math.floor(elapsed / 100) + 2);
    // Whole milliseconds: a 100 ms gap may print as 99. The final call may follow the last closely.
    for (const [i, line] of lines.slice(1, -1).entries()) expect(line.ms - lines[i]!.ms).to.be.at.least(99);
    expect(lines.every((line) => line.digest === layer.digest && line.total === layer.bytes.length)).to.equal(true);
    const bytes = lines.map((line) => line.bytes);
    expect(bytes, 'never decreasing').to.deep.equal([...bytes].sort((a, b) => a - b));
    expect(bytes.at(-1)).to.equal(layer.bytes.length);
  });

  it('makes no final call for a corrupt blob: the calls stop short of its size, and the read fails', async () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const run = await blobReadSlowly([`oci:${images.corruptLayout}:large`, layer.digest, '--insecure-policy']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`[incomplete-body] blob ${layer.digest}`);
    expect(run.lines.length, 'calls while it streamed').to.be.at.least(1);
    expect(run.lines.every((line) => line.bytes < layer.bytes.length)).to.equal(true);
    expect(run.size).to.be.below(layer.bytes.length);
  });

  it('extract.rs: each layer read decompressed ends with its tar length, with a total only for the uncompressed one', async () => {
    const run = await runExample('extract', [`oci:${images.mixedLayout}:mixed`, join(workDir, 'rootfs'), '--insecure-policy']);
    expect(run.code, run.stderr).to.equal(0);
    const last = (digest: string) =>
      run.stderr
        .split('\n')
        .filter((line) => line.startsWith(`${digest}: `))
        .at(-1);
    for (const layer of images.mixed.layers) {
      const bytes = Buffer.from(layer.bytes);
      const tar = layer.compression === 'gzip' ? gunzipSync(bytes) : layer.compression === 'zstd' ? zstdDecompressSync(bytes) : bytes;
      const total = layer.compression === 'none' ? ` of ${tar.length}` : '';
      expect(last(layer.digest), `${layer.compression} layer`).to.equal(`${layer.digest}: ${tar.length}${total} bytes`);
    }
  });
});
