import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { exampleImage } from '../support/example-image.js';
import { digestOf } from '../../src/domain/digest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { blobOf, type FixtureLayer, makeImage, makeLayer, PLATFORMS, standardFixtures, tarArchive, writeOciLayout } from '../support/image-fixtures.js';
import { skopeoOnce } from '../support/registry/skopeo.js';
import { useRegistry } from '../support/registry/fixture.js';
import { lastLines, makeTempDir, removeTempDir, run as runCommand } from '../support/registry/processes.js';
import { CLI_PATH } from '../support/spawn-proxy.js';
import { requireTool } from '../e2e/e2e-images.js';
import { isolatedEnv } from '../e2e/registry/proxy-session.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { cargoTest, type Exited, runExample, rustToolchainMissing } from './rust-cargo.js';

/** What examples/fetch.rs prints. */
interface Fetched {
  readonly fetched?: {
    readonly version: { readonly version: string; readonly apiVersion: string };
    readonly digest: string;
    readonly instanceDigest: string;
    readonly architecture: string;
    readonly layers: readonly { digest: string; size: number; mediaType: string; compression: string; diffID: string; zstdChunked?: boolean }[];
    readonly blobs: readonly { digest: string; size: number }[];
    readonly uncompressed: readonly { diffID: string; size: number }[];
  };
  readonly error?: {
    readonly variant: string;
    readonly code: string;
    readonly status: number | null;
    readonly message: string;
    readonly received: number | null;
    readonly expected: number | null;
    readonly exitCode: number | null;
    readonly stderr: string | null;
  };
  readonly quit?: string;
}

const POLICY = ['--policy', 'examples/policy.json'];

function sha256File(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

function parseFetch(run: Exited): Fetched {
  try {
    return JSON.parse(run.stdout) as Fetched;
  } catch {
    throw new Error(`fetch printed no JSON (exit ${run.code}): ${run.stdout}\n${lastLines(run.stderr)}`);
  }
}

/** Every file fetch wrote hashes to the digest it is named by; returns the digests seen. */
function verifiedFiles(dir: string): { blobs: string[]; tars: string[] } {
  const check = (sub: string, suffix: string) =>
    readdirSync(join(dir, sub)).map((name) => {
      const digest = `sha256:${name.slice(0, name.length - suffix.length)}`;
      expect(sha256File(join(dir, sub, name)), `${sub}/${name}`).to.equal(digest);
      return digest;
    });
  return { blobs: check('blobs/sha256', ''), tars: check('layers', '.tar') };
}

describe('Rust client: clients/rust (built offline from Debian crates) over a real proxy', function () {
  this.timeout(60_000);
  let workDir: string;
  let images: ClientImages;
  let unitTests: Exited;
  let next = 0;
  const freshDir = () => join(workDir, `out-${++next}`);

  before(async function () {
    this.timeout(20 * 60_000); // a first build compiles hyper and tokio
    const missing = rustToolchainMissing();
    requireTool(this, missing === undefined, missing ?? '');
    unitTests = await cargoTest();
    if (unitTests.code !== 0) throw new Error(`cargo test failed (${unitTests.code}):\n${lastLines(unitTests.stdout + unitTests.stderr, 60)}`);
    workDir = makeTempDir('rust-client');
    images = await writeClientImages();
  });
  after(async () => {
    await images?.cleanup();
    if (workDir) removeTempDir(workDir);
  });

  it('builds with Debian cargo from /usr/share/cargo/registry alone, and its unit tests pass', () => {
    expect(unitTests.stderr).to.not.match(/Downloading|Updating crates\.io/);
    const results = [...unitTests.stdout.matchAll(/test result: ok\. (\d+) passed; 0 failed/g)].map((match) => Number(match[1]));
    expect(results[0], 'unit tests').to.be.at.least(12);
    expect(unitTests.stdout).to.include('a_content_length_body_cut_short_is_incomplete_body_not_eof ... ok');
  });

  it('fetch (?image=) of the bundled oci: image: manifest, config, layers, every blob as stored and uncompressed match their digests', async () => {
    const example = exampleImage();
    const amd64 = example.instances[0]!;
    const dir = freshDir();
    const run = await runExample('fetch', ['oci:examples/image:latest', dir, ...POLICY, '--override-arch', 'amd64']);
    const out = parseFetch(run);
    expect(out.error, run.stderr).to.equal(undefined);
    const fetched = out.fetched!;
    expect([fetched.digest, fetched.instanceDigest, fetched.architecture]).to.deep.equal([example.manifest.digest, amd64.manifest.digest, 'amd64']);
    expect(fetched.layers).to.deep.equal(
      amd64.layers.map((l) => ({ digest: l.digest, size: l.bytes.length, mediaType: l.mediaType, compression: l.compression, diffID: l.diffId })),
    );
    expect(fetched.blobs).to.deep.equal([amd64.config, ...amd64.layers].map((blob) => ({ digest: blob.digest, size: blob.bytes.length })));
    expect(fetched.uncompressed.map((tar) => tar.diffID)).to.deep.equal(amd64.layers.map((l) => l.diffId));
    expect(sha256File(join(dir, 'manifest.json'))).to.equal(amd64.manifest.digest);
    const files = verifiedFiles(dir);
    expect(files.blobs.sort()).to.deep.equal([amd64.config, ...amd64.layers].map((blob) => blob.digest).sort());
    expect(files.tars.sort()).to.deep.equal(amd64.layers.map((l) => l.diffId).sort());
    expect(fetched.version.apiVersion).to.equal('1.1');
    expect([out.quit, run.code]).to.deep.equal(['the proxy exited with 0', 0]);
  });

  it('fetch of a zstd:chunked image skopeo wrote: /layers says zstdChunked (Layer.zstd_chunked), and the layer verifies as stored and uncompressed', async () => {
    // A tar ending right after its two zero blocks: skopeo re-emits exactly that, so the diff ID holds.
    const tar = tarArchive([{ path: 'etc/' }, { path: 'etc/chunked', content: 'a zstd:chunked layer\n'.repeat(300) }]);
    const plain: FixtureLayer = { ...blobOf(MediaType.ociLayerTar, tar), diffId: digestOf(tar), compression: 'none' };
    const source = join(workDir, 'chunked-source');
    const chunked = join(workDir, 'chunked');
    await writeOciLayout(source, [{ name: 'c', artifact: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [plain] }) }]);
    await skopeoOnce(['copy', '--quiet', '--dest-compress-format', 'zstd:chunked', `oci:${source}:c`, `oci:${chunked}:c`]);
    const dir = freshDir();
    const out = parseFetch(await runExample('fetch', [`oci:${chunked}:c`, dir, '--insecure-policy']));
    expect(out.error).to.equal(undefined);
    expect(out.fetched!.layers.map((l) => [l.mediaType, l.compression, l.diffID, l.zstdChunked])).to.deep.equal([
      [MediaType.ociLayerZstd, 'zstd', plain.diffId, true],
    ]);
    const files = verifiedFiles(dir);
    expect(files.tars).to.deep.equal([plain.diffId]);
    expect(files.blobs).to.include(out.fetched!.layers[0]!.digest);
    expect(out.quit).to.equal('the proxy exited with 0');
  });

  it('extract: unpacks the arm64/v8 instance of the bundled image layer by layer, whiteouts applied', async () => {
    const example = exampleImage();
    const arm64 = example.instances[1]!;
    const dir = freshDir();
    const run = await runExample('extract', ['oci:examples/image:latest', dir, ...POLICY, '--override-arch', 'arm64', '--override-variant', 'v8']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(`manifest ${example.manifest.digest} (instance ${arm64.manifest.digest})`);
    expect(run.stdout.match(/^layer sha256:\w+/gm)).to.deep.equal(arm64.layers.map((l) => `layer ${l.digest}`));
    expect(readFileSync(join(dir, 'etc/motd'), 'utf8')).to.equal('This is the container-image-proxy example image (linux/arm64/v8).\n');
    expect(readFileSync(join(dir, 'usr/share/example/hello.txt'), 'utf8')).to.match(/^Hello from a layer shared/);
    expect(run.stdout).to.include('the proxy exited with 0');

    const base = makeLayer([{ path: 'etc/' }, { path: 'etc/motd', content: 'base\n' }, { path: 'etc/keep', content: 'kept\n' }], {
      format: 'oci',
      compression: 'gzip',
    });
    const upper = makeLayer([{ path: 'etc/' }, { path: 'etc/.wh.motd', content: '' }], { format: 'oci', compression: 'zstd' });
    const layout = join(workDir, 'whiteout-layout');
    await writeOciLayout(layout, [{ name: 'w', artifact: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [base, upper] }) }]);
    const whiteoutDir = freshDir();
    const whiteout = await runExample('extract', [`oci:${layout}:w`, whiteoutDir, ...POLICY]);
    expect(whiteout.code, whiteout.stderr).to.equal(0);
    expect([existsSync(join(whiteoutDir, 'etc/motd')), readFileSync(join(whiteoutDir, 'etc/keep'), 'utf8')]).to.deep.equal([false, 'kept\n']);
  });

  it("extract: a whiteout behind an earlier layer's symlink to outside the target is refused, nothing outside removed", async () => {
    const outside = join(workDir, 'outside');
    const staging = join(workDir, 'symlink-staging');
    mkdirSync(outside);
    mkdirSync(staging);
    writeFileSync(join(outside, 'victim'), 'must survive\n');
    symlinkSync(outside, join(staging, 'escape'));
    const tar = join(workDir, 'symlink.tar');
    await runCommand('tar', ['-cf', tar, '-C', staging, 'escape']);
    const tarBytes = readFileSync(tar);
    const symlinkLayer: FixtureLayer = {
      digest: digestOf(tarBytes),
      diffId: digestOf(tarBytes),
      mediaType: MediaType.ociLayerTar,
      bytes: tarBytes,
      compression: 'none',
    };
    const whiteout = makeLayer([{ path: 'escape/.wh.victim', content: '' }], { format: 'oci', compression: 'gzip' });
    const layout = join(workDir, 'symlink-layout');
    await writeOciLayout(layout, [{ name: 's', artifact: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [symlinkLayer, whiteout] }) }]);
    const result = await runExample('extract', [`oci:${layout}:s`, freshDir(), ...POLICY]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('escape/.wh.victim leaves the target directory');
    expect(readFileSync(join(outside, 'victim'), 'utf8')).to.equal('must survive\n');
  });

  it('a corrupt blob fails as IncompleteBody (fewer bytes than Content-Length), never as a short success; the proxy exits 1', async () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const run = await runExample('fetch', [`oci:${images.corruptLayout}:large`, freshDir(), ...POLICY]);
    const error = parseFetch(run).error!;
    expect([error.variant, error.code, error.expected, error.exitCode, run.code]).to.deep.equal([
      'IncompleteBody',
      'incomplete-body',
      layer.bytes.length,
      1,
      1,
    ]);
    expect(error.received).to.be.below(layer.bytes.length);
    expect(error.message).to.include(`blob ${layer.digest}`).and.to.include('the proxy exited with 1');
  });

  it('a corrupt layer read decompressed (chunked) fails extract with incomplete-body', async () => {
    const layer = images.fixtures.ociLarge.layers[0]!;
    const run = await runExample('extract', [`oci:${images.corruptLayout}:large`, freshDir(), ...POLICY]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`[incomplete-body] decompressed layer ${layer.digest}: the body ended after`);
    expect(run.stderr).to.include('the proxy exited with 1');
  });

  it('a proxy that fails at start gives ProxyFailed with its exit status and its stderr line', async () => {
    const run = await runExample('fetch', ['oci:examples/image:latest', freshDir(), '--policy', '/nonexistent/policy.json']);
    const error = parseFetch(run).error!;
    expect([error.variant, error.code, run.code]).to.deep.equal(['ProxyFailed', 'proxy-failed', 1]);
    expect(error.exitCode).to.be.a('number').and.not.equal(0);
    expect(error.stderr).to.include('policy-invalid').and.to.include('/nonexistent/policy.json');
    expect(error.message).to.include(`the proxy exited with ${error.exitCode}: ${error.stderr}`);
  });

  it('a program that cannot be started gives Spawn naming it', async () => {
    const run = await runExample('fetch', ['oci:examples/image:latest', freshDir()], {
      ...process.env,
      CONTAINER_IMAGE_PROXY: '/nonexistent/container-image-proxy',
    });
    const error = parseFetch(run).error!;
    expect([error.variant, error.code]).to.deep.equal(['Spawn', 'proxy-failed']);
    expect(error.message).to.include('/nonexistent/container-image-proxy');
  });

  it('without CONTAINER_IMAGE_PROXY, finds container-image-proxy on PATH', async () => {
    const bin = join(workDir, 'bin');
    mkdirSync(bin);
    symlinkSync(CLI_PATH, join(bin, 'container-image-proxy'));
    const env = { ...process.env, CONTAINER_IMAGE_PROXY: '', PATH: `${bin}:${process.env.PATH ?? ''}` };
    const result = await runExample('fetch', ['oci:examples/image:latest', freshDir(), ...POLICY], env);
    expect([parseFetch(result).quit, result.code]).to.deep.equal(['the proxy exited with 0', 0]);
  });

  it('gives the proxy MALLOC_ARENA_MAX=1 unless its own environment sets it', async () => {
    const record = join(workDir, 'arenas');
    const wrapper = join(workDir, 'record-arenas.sh');
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s' "\${MALLOC_ARENA_MAX-unset}" > '${record}'\nexec '${CLI_PATH}' "$@"\n`, { mode: 0o755 });
    const { MALLOC_ARENA_MAX: _inherited, ...env } = process.env;
    for (const [given, recorded] of [
      [{}, '1'],
      [{ MALLOC_ARENA_MAX: '2' }, '2'],
    ] as const) {
      const run = await runExample('fetch', ['oci:examples/image:latest', freshDir(), ...POLICY], { ...env, ...given, CONTAINER_IMAGE_PROXY: wrapper });
      expect([parseFetch(run).quit, run.code]).to.deep.equal(['the proxy exited with 0', 0]);
      expect(readFileSync(record, 'utf8')).to.equal(recorded);
    }
  });

  describe('against a real registry (docker://)', function () {
    const registry = useRegistry(
      { kind: 'anonymous' },
      { tempDir: 'rust-client-registry', images: () => ({ 'rust/image:v1': standardFixtures().dockerList }) },
    );

    it('fetches the arm64/v8 instance of a docker manifest list: layers, diff IDs and every file verified', async () => {
      const list = standardFixtures().dockerList;
      const arm64 = list.instances[1]!;
      const dir = freshDir();
      const args = [`docker://${registry.host}/rust/image:v1`, dir, ...POLICY, '--tls-verify=false', '--override-arch', 'arm64', '--override-variant', 'v8'];
      const run = await runExample('fetch', args, isolatedEnv(join(workDir, 'docker-home')));
      const out = parseFetch(run);
      expect(out.error, run.stderr).to.equal(undefined);
      const fetched = out.fetched!;
      expect([fetched.digest, fetched.instanceDigest, fetched.architecture]).to.deep.equal([list.manifest.digest, arm64.manifest.digest, 'arm64']);
      expect(fetched.layers.map((l) => [l.digest, l.size, l.diffID])).to.deep.equal(arm64.layers.map((l) => [l.digest, l.bytes.length, l.diffId]));
      const files = verifiedFiles(dir);
      expect(files.blobs).to.include.members(arm64.layers.map((l) => l.digest));
      expect(files.blobs).to.have.length(arm64.layers.length + 1); // the converted config too
      expect(files.tars.sort()).to.deep.equal(arm64.layers.map((l) => l.diffId).sort());
      expect(out.quit).to.equal('the proxy exited with 0');
    });

    it('a missing tag is Proxy(ImageNotFound) with status 404, and the session goes on to quit with 0', async () => {
      const args = [`docker://${registry.host}/rust/image:missing`, freshDir(), ...POLICY, '--tls-verify=false'];
      const run = await runExample('fetch', args, isolatedEnv(join(workDir, 'docker-home')));
      const out = parseFetch(run);
      expect([out.error?.variant, out.error?.code, out.error?.status, run.code]).to.deep.equal(['Proxy(ImageNotFound)', 'image-not-found', 404, 1]);
      expect(out.error?.message).to.include('rust/image:missing');
      expect(out.quit).to.equal('the proxy exited with 0');
    });
  });
});
