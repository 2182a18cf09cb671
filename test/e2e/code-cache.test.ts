/**
 * The launcher's code cache (scripts/code-cache-loader.mjs), through the real CLI: where it is
 * written, with what mode, when it is rewritten, and that no cache directory, however odd, can
 * keep the CLI from answering or exiting.
 */
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { runCli, spawnProxy } from '../support/spawn-proxy.js';

const VERSION_LINE = /^container-image-proxy version \S+\n$/;

describe('end to end: the code cache the CLI keeps between starts', function () {
  this.timeout(30_000);
  let dir: string;
  let cacheDir: string;

  beforeEach(() => {
    dir = makeTempDir('e2e-code-cache');
    // Where the launcher keeps it without NODE_COMPILE_CACHE (which turns on Node's own cache too).
    cacheDir = join(dir, 'node-compile-cache');
  });
  afterEach(() => removeTempDir(dir));

  async function version(env: NodeJS.ProcessEnv): Promise<void> {
    const { NODE_COMPILE_CACHE: _outer, ...inherited } = process.env;
    const run = await runCli(['--version'], { env: { ...inherited, ...env } });
    expect([run.code, run.stderr]).to.deep.equal([0, '']);
    expect(run.stdout).to.match(VERSION_LINE);
  }

  const cacheFiles = (): string[] => readdirSync(cacheDir).filter((name) => name.endsWith('.v8cache')).sort();

  it('writes a stage-1 cache readable by this user only, in a directory of mode 0700, then moves it on a stage per session that compiled nothing more, without rewriting it, until stage 4', async () => {
    await version({ TMPDIR: dir });
    const [file, ...more] = cacheFiles();
    expect(more).to.deep.equal([]);
    expect(file).to.match(/^container-image-proxy-[0-9a-f]{32}-[0-9a-f]+\.1\.v8cache$/);
    expect(statSync(join(cacheDir, file!)).mode & 0o777).to.equal(0o600);
    expect(statSync(cacheDir).mode & 0o777).to.equal(0o700);
    const first = statSync(join(cacheDir, file!));
    for (const stage of [2, 3, 4, 4]) {
      await version({ TMPDIR: dir });
      const moved = file!.replace(/\.1\.v8cache$/, `.${stage}.v8cache`);
      expect(cacheFiles()).to.deep.equal([moved]);
      expect(statSync(join(cacheDir, moved)).ino).to.equal(first.ino);
    }
  });

  it('writes the next stage, and drops the one it grew from, when a session compiled more than the cache held', async () => {
    await version({ TMPDIR: dir });
    const [small] = cacheFiles();
    const smallBytes = statSync(join(cacheDir, small!)).size;
    const { NODE_COMPILE_CACHE: _outer, ...inherited } = process.env;
    const proxy = spawnProxy(['--insecure-policy', 'oci:examples/image:latest'], { env: { ...inherited, TMPDIR: dir } });
    try {
      expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
      expect((await proxy.request('POST', '/quit')).status).to.equal(200);
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    } finally {
      await proxy.dispose();
    }
    const grown = small!.replace(/\.1\.v8cache$/, '.2.v8cache');
    expect(cacheFiles()).to.deep.equal([grown]);
    expect(statSync(join(cacheDir, grown)).size).to.be.greaterThan(smallBytes * 1.05);
  });

  it('ignores a cache others can write and replaces it with its own', async () => {
    await version({ TMPDIR: dir });
    const [file] = cacheFiles();
    const path = join(cacheDir, file!);
    chmodSync(path, 0o666);
    const planted = statSync(path).ino;
    await version({ TMPDIR: dir });
    expect(statSync(path).ino).to.not.equal(planted);
    expect(statSync(path).mode & 0o777).to.equal(0o600);
  });

  it('survives a damaged cache and replaces it', async () => {
    await version({ TMPDIR: dir });
    const [file] = cacheFiles();
    const path = join(cacheDir, file!);
    const garbage = Buffer.alloc(statSync(path).size, 0x5a);
    writeFileSync(path, garbage, { mode: 0o600 });
    await version({ TMPDIR: dir });
    expect(readFileSync(path).equals(garbage)).to.equal(false);
  });

  // Node's recursive mkdir spins forever on a path under /proc (it does so for its own
  // NODE_COMPILE_CACHE, before any of the CLI runs); the launcher's must not.
  it('answers and exits when the cache directory cannot be made (TMPDIR under /proc)', async () => {
    await version({ TMPDIR: '/proc/nonexistent' });
  });
});
