import { spawnSync } from 'node:child_process';
import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { ociBlobPath } from '../support/image-fixtures.js';
import { CLI_PATH, REPO_ROOT } from '../support/spawn-proxy.js';
import { type E2eImages, requireTool, writeE2eImages } from './e2e-images.js';

const SCRIPT = join(REPO_ROOT, 'test/e2e/python_parent.py');
const pythonAvailable = spawnSync('python3', ['--version']).status === 0;

interface Sequence {
  readonly manifest_status: number;
  readonly manifest_digest: string;
  readonly instance_digest: string;
  readonly manifest_sha256: string;
  readonly config_ok: boolean;
  readonly blobs: readonly { digest: string; status: number; ok: boolean }[];
  readonly head: { status: number; length: string; body: number };
  readonly errors: readonly { status: number; reason: string; code: string; then: number }[];
  readonly quit_status: number;
  readonly exit: number;
  readonly stderr: string;
}

function runPython<T>(...args: string[]): T {
  const run = spawnSync('python3', [SCRIPT, args[0]!, process.execPath, CLI_PATH, ...args.slice(1)], { encoding: 'utf8', timeout: 30000 });
  if (run.status !== 0) throw new Error(`python parent failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

describe('end to end: a Python parent (http.client over socket.socketpair)', function () {
  this.timeout(40000);
  let images: E2eImages;

  before(async function () {
    requireTool(this, pythonAvailable, 'python3');
    images = await writeE2eImages();
  });
  after(async () => {
    await images?.cleanup();
  });

  for (const mode of ['sequence', 'stdin'] as const) {
    it(`${mode === 'stdin' ? 'on standard input' : 'with pass_fds and --sockfd=N'}: manifest, config, every blob, errors, quit`, () => {
      const image = images.fixtures.ociSingle;
      const result = runPython<Sequence>(mode, `oci:${images.layout}:single`);
      expect(result.manifest_status).to.equal(200);
      expect(result.manifest_digest).to.equal(image.manifest.digest);
      expect(result.instance_digest).to.equal(image.manifest.digest);
      expect(result.manifest_sha256).to.equal(image.manifest.digest);
      expect(result.config_ok).to.equal(true);
      expect(result.blobs.map((b) => b.digest)).to.deep.equal([image.config.digest, ...image.layers.map((l) => l.digest)]);
      expect(result.blobs.every((b) => b.ok && b.status === 200)).to.equal(true);
      expect(result.head).to.deep.equal({ status: 200, length: String(image.manifest.bytes.length), body: 0 });
      expect(result.errors).to.deep.equal([
        { status: 400, reason: 'Bad Request', code: 'bad-request', then: 200 },
        { status: 404, reason: 'Not Found', code: 'blob-not-found', then: 200 },
        { status: 405, reason: 'Method Not Allowed', code: 'method-not-allowed', then: 200 },
        { status: 404, reason: 'Not Found', code: 'not-found', then: 200 },
      ]);
      expect(result.quit_status).to.equal(200);
      expect(result.exit).to.equal(0);
    });
  }

  it('sees a corrupt blob end early and the proxy exit non-zero with one clear line', async () => {
    const layout = join(images.root, 'python-corrupt-layout');
    await cp(images.layout, layout, { recursive: true });
    const layer = images.fixtures.ociLarge.layers[0]!;
    const file = await open(ociBlobPath(layout, layer.digest), 'r+');
    try {
      await file.write(Buffer.from([layer.bytes[100]! ^ 0x01]), 0, 1, 100);
    } finally {
      await file.close();
    }
    const result = runPython<{ status: number; content_length: number; outcome: string; received: number; exit: number; stderr: string }>(
      'corrupt',
      `oci:${layout}:large`,
      layer.digest,
    );
    expect([result.status, result.content_length, result.outcome]).to.deep.equal([200, layer.bytes.length, 'incomplete']);
    expect(result.received).to.be.lessThan(layer.bytes.length);
    expect(result.exit).to.equal(1);
    expect(result.stderr)
      .to.match(/^container-image-proxy: digest-mismatch: [^\n]*\n$/)
      .and.to.contain(layer.digest);
  });
});
