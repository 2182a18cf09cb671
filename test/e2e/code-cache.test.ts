/**
 * The launcher's code cache (scripts/code-cache-loader.mjs), through the real CLI: where it is
 * written, with what mode, when it is rewritten, and that no cache directory, however odd, can
 * keep the CLI from answering or exiting.
 */
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { runCli } from '../support/spawn-proxy.js';

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

  it('writes a stage-1 cache readable by this user only, in a directory of mode 0700, and does not rewrite it when nothing more was compiled', async () => {
    await version({ TMPDIR: dir });
    const [file, ...more] = cacheFiles();
    expect(more).to.deep.equal([]);
    expect(file).to.match(/^container-image-proxy-[0-9a-f]{32}-[0-9a-f]+\.1\.v8cache$/);
    expect(statSync(join(cacheDir, file!)).mode & 0o777).to.equal(0o600);
    expect(statSync(cacheDir).mode & 0o777).to.equal(0o700);
    const first = statSync(join(cacheDir, file!));
    await version({ TMPDIR: dir });
    expect(cacheFiles()).to.deep.equal([file]);
    expect(statSync(join(cacheDir, file!)).ino).to.equal(first.ino);
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
