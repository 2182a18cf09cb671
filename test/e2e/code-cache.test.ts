/**
 * The code cache both forms of the CLI keep between starts (scripts/code-cache-loader.mjs),
 * through the npm bin run by its shebang, as an installed bin runs, and through the single
 * executable, as root: where the cache is kept and with what modes, when it is rewritten, that a
 * directory another user owns or can write, a link another user placed where a cache file or its
 * temporary file goes, or CONTAINER_IMAGE_PROXY_NO_CACHE keeps the proxy from reading or writing
 * there while it still serves, and that no cache directory, however odd, keeps it from answering.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';
import { ensureExecutables, EXE } from '../support/executables.js';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { CLI_PATH, runCli, spawnProxy } from '../support/spawn-proxy.js';

const VERSION_LINE = /^container-image-proxy version \S+\n$/;
const NOBODY = 65534;
const CACHE_FILE = /^container-image-proxy-[0-9a-f]{32}-[0-9a-f]+\.(\d)\.v8cache$/;

interface Form {
  readonly name: string;
  readonly command: readonly string[];
  readonly prepare: () => void;
}

const FORMS: readonly Form[] = [
  // By its shebang, which sets what Node reads before any JavaScript runs.
  { name: 'the npm bin', command: [CLI_PATH], prepare: () => undefined },
  { name: 'the single executable', command: [EXE], prepare: ensureExecutables },
];

/** Every entry under `root` as lstat sees it, to show that nothing there was read into place, made, changed or removed. */
function snapshot(root: string): string[] {
  const entries: string[] = [];
  const walk = (path: string): void => {
    const stats = lstatSync(path);
    entries.push(`${relative(root, path) || '.'} ${stats.mode.toString(8)} ${stats.uid} ${stats.ino} ${stats.size} ${stats.mtimeMs} ${stats.ctimeMs}`);
    if (stats.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(root);
  return entries;
}

/** A directory of mode `mode` (parents made as 0755), owned by `uid` when given. */
function directory(path: string, mode: number, uid?: number): string {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  chmodSync(path, mode);
  if (uid !== undefined) chownSync(path, uid, uid);
  return path;
}

for (const form of FORMS) {
  describe(`end to end: the code cache ${form.name} keeps between starts`, function () {
    this.timeout(60_000);
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let cacheDir: string;

    before(function () {
      this.timeout(300_000);
      // Directories and links of another user's need chown: root, as CI runs.
      if (process.getuid?.() !== 0) {
        if (process.env['CI'] === 'true') throw new Error('the code-cache tests chown to nobody and must run as root under CI');
        console.warn('    (skipped: not root, cannot chown to nobody)');
        this.skip();
      }
      form.prepare();
    });
    beforeEach(() => {
      dir = makeTempDir('e2e-code-cache');
      const { NODE_COMPILE_CACHE: _node, XDG_CACHE_HOME: _xdg, CONTAINER_IMAGE_PROXY_NO_CACHE: _off, ...inherited } = process.env;
      // The pinned Node first on PATH, for the bin's `env node`.
      env = { ...inherited, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache') };
      cacheDir = join(dir, 'cache', 'container-image-proxy');
    });
    afterEach(() => removeTempDir(dir));

    async function version(extra: NodeJS.ProcessEnv = {}): Promise<void> {
      const run = await runCli(['--version'], { env: { ...env, ...extra }, command: form.command });
      expect([run.code, run.stderr]).to.deep.equal([0, '']);
      expect(run.stdout).to.match(VERSION_LINE);
    }

    /** A session that serves a manifest and quits; what it logged about the code cache at --log-level debug. */
    async function serve(extra: NodeJS.ProcessEnv = {}, beforeQuit: (pid: number) => void = () => undefined): Promise<string[]> {
      const proxy = spawnProxy(['--log-level', 'debug', '--insecure-policy', 'oci:examples/image:latest'], {
        env: { ...env, ...extra },
        command: form.command,
      });
      try {
        expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
        beforeQuit(proxy.child.pid!);
        expect((await proxy.request('POST', '/quit')).status).to.equal(200);
        expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
      } finally {
        await proxy.dispose();
      }
      const lines = proxy
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('{'));
      return lines
        .map((line) => JSON.parse(line) as { event: string; message: string })
        .filter((entry) => entry.event === 'code-cache')
        .map((entry) => entry.message);
    }

    const cacheFiles = (where = cacheDir): string[] =>
      readdirSync(where)
        .filter((name) => CACHE_FILE.test(name))
        .sort();

    /** A stage-1 cache another session wrote (its name and path), made in a directory of its own. */
    async function goodCache(): Promise<{ name: string; path: string }> {
      const xdg = join(dir, 'good');
      await version({ XDG_CACHE_HOME: xdg });
      const [name] = cacheFiles(join(xdg, 'container-image-proxy'));
      expect(name).to.match(/\.1\.v8cache$/);
      return { name: name!, path: join(xdg, 'container-image-proxy', name!) };
    }

    it('writes a stage-1 cache readable by this user only in $XDG_CACHE_HOME/container-image-proxy, made 0700, then moves it on a stage per session that compiled nothing more, without rewriting it, until stage 4', async () => {
      await version();
      const [file, ...more] = cacheFiles();
      expect(more).to.deep.equal([]);
      expect(file).to.match(/\.1\.v8cache$/);
      expect(statSync(join(cacheDir, file!)).mode & 0o777).to.equal(0o600);
      expect([statSync(cacheDir).mode & 0o777, statSync(dirname(cacheDir)).mode & 0o777]).to.deep.equal([0o700, 0o700]);
      const first = statSync(join(cacheDir, file!));
      for (const stage of [2, 3, 4, 4]) {
        await version();
        const moved = file!.replace(/\.1\.v8cache$/, `.${stage}.v8cache`);
        expect(cacheFiles()).to.deep.equal([moved]);
        expect(statSync(join(cacheDir, moved)).ino).to.equal(first.ino);
      }
    });

    it('writes the next stage, and drops the one it grew from, when a session compiled more than the cache held; says where at --log-level debug', async () => {
      await version();
      const [small] = cacheFiles();
      const smallBytes = statSync(join(cacheDir, small!)).size;
      expect(await serve()).to.deep.equal([`code cache in ${cacheDir}`]);
      const grown = small!.replace(/\.1\.v8cache$/, '.2.v8cache');
      expect(cacheFiles()).to.deep.equal([grown]);
      expect(statSync(join(cacheDir, grown)).size).to.be.greaterThan(smallBytes * 1.05);
    });

    it('ignores a cache file others can write and replaces it with its own', async () => {
      await version();
      const [file] = cacheFiles();
      const path = join(cacheDir, file!);
      chmodSync(path, 0o666);
      const planted = statSync(path).ino;
      await version();
      expect(statSync(path).ino).to.not.equal(planted);
      expect(statSync(path).mode & 0o777).to.equal(0o600);
    });

    it('survives a damaged cache and replaces it', async () => {
      await version();
      const [file] = cacheFiles();
      const path = join(cacheDir, file!);
      const garbage = Buffer.alloc(statSync(path).size, 0x5a);
      writeFileSync(path, garbage, { mode: 0o600 });
      await version();
      expect(readFileSync(path).equals(garbage)).to.equal(false);
    });

    // Node's recursive mkdir spins forever on a path under /proc; the loader's must not.
    it('answers and exits when the cache directory cannot be made (XDG_CACHE_HOME under /proc)', async () => {
      await version({ XDG_CACHE_HOME: '/proc/nonexistent' });
    });

    const UNSAFE: readonly { name: string; make: () => { variable: NodeJS.ProcessEnv; cache: string; watched: string }; says: RegExp }[] = [
      {
        name: 'a cache directory owned by nobody',
        make: () => ({ variable: {}, cache: directory(cacheDir, 0o700, NOBODY), watched: dirname(cacheDir) }),
        says: /container-image-proxy is owned by uid 65534, not by this user \(uid 0\)/,
      },
      {
        name: 'a cache directory of mode 0777',
        make: () => ({ variable: {}, cache: directory(cacheDir, 0o777), watched: dirname(cacheDir) }),
        says: /container-image-proxy is writable by group or others \(mode 0777\)/,
      },
      {
        name: 'a $NODE_COMPILE_CACHE owned by nobody, of mode 0777',
        make: () => {
          const cache = directory(join(dir, 'node-cache'), 0o777, NOBODY);
          return { variable: { NODE_COMPILE_CACHE: cache }, cache, watched: cache };
        },
        says: /node-cache is owned by uid 65534/,
      },
      {
        name: 'a private cache directory in an $XDG_CACHE_HOME anyone can write, without the sticky bit',
        make: () => {
          directory(dirname(cacheDir), 0o777);
          return { variable: {}, cache: directory(cacheDir, 0o700), watched: dirname(cacheDir) };
        },
        says: /cache is writable by group or others without the sticky bit \(mode 0777\)/,
      },
      {
        name: 'a private cache directory whose $XDG_CACHE_HOME leads through a link nobody owns in a sticky directory',
        make: () => {
          const cache = directory(cacheDir, 0o700);
          const hop = join(directory(join(dir, 'sticky'), 0o1777), 'hop');
          symlinkSync(dirname(cacheDir), hop);
          lchownSync(hop, NOBODY, NOBODY);
          symlinkSync(hop, join(dir, 'xdg'));
          return { variable: { XDG_CACHE_HOME: join(dir, 'xdg') }, cache, watched: dirname(cacheDir) };
        },
        says: /sticky\/hop is a symbolic link owned by uid 65534/,
      },
    ];

    for (const { name, make, says } of UNSAFE) {
      it(`neither reads nor writes ${name}, holding a cache it would accept, and still serves`, async () => {
        const good = await goodCache();
        const { variable, cache, watched } = make();
        copyFileSync(good.path, join(cache, good.name));
        const before = snapshot(watched);
        const notes = await serve(variable);
        await version(variable);
        expect(notes).to.have.length(1);
        expect(notes[0])
          .to.match(/^no code cache: /)
          .and.to.match(says);
        let after = snapshot(watched);
        if (form.command[0] === EXE && variable['NODE_COMPILE_CACHE'] !== undefined) {
          // Node itself makes an empty version directory in $NODE_COMPILE_CACHE at every start of
          // an executable, before any of its JavaScript runs (scripts/build-exe.mjs); it reads
          // nothing from it, and the proxy adds nothing to it.
          const made = readdirSync(watched).filter((entry) => entry.startsWith(`v${process.versions.node}-${process.arch}-`));
          expect(made).to.have.length(1);
          expect(readdirSync(join(watched, made[0]!))).to.deep.equal([]);
          after = after.filter((entry) => !entry.startsWith(`${made[0]} `));
          expect(after.slice(1)).to.deep.equal(before.slice(1));
        } else {
          expect(after).to.deep.equal(before);
        }
      });
    }

    it('as root with neither XDG_CACHE_HOME nor NODE_COMPILE_CACHE, keeps it in /var/cache/container-image-proxy and touches no TMPDIR, even one nobody owns holding a node-compile-cache', async () => {
      const good = await goodCache();
      const tmp = directory(join(dir, 'tmp'), 0o777, NOBODY);
      copyFileSync(good.path, join(directory(join(tmp, 'node-compile-cache'), 0o777, NOBODY), good.name));
      const before = snapshot(tmp);
      const { XDG_CACHE_HOME: _xdg, ...withoutXdg } = env;
      env = { ...withoutXdg, TMPDIR: tmp };
      expect(await serve()).to.deep.equal(['code cache in /var/cache/container-image-proxy']);
      expect(snapshot(tmp)).to.deep.equal(before);
      const made = statSync('/var/cache/container-image-proxy');
      expect([made.uid, made.mode & 0o777]).to.deep.equal([0, 0o700]);
    });

    it('as root on a host without /var/cache, makes no /var/cache (0700 would lock other users out of it) and keeps it in ~/.cache/container-image-proxy', () => {
      // A mount namespace of its own, with an empty /var: the host's /var is left alone.
      const { XDG_CACHE_HOME: _xdg, ...withoutXdg } = env;
      const script = 'mount -t tmpfs -o mode=0755 none /var && "$@" && if [ -e /var/cache ]; then echo /var/cache made; fi';
      const run = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', ...form.command, '--version'], { env: withoutXdg, encoding: 'utf8' });
      expect([run.status, run.stderr]).to.deep.equal([0, '']);
      expect(run.stdout).to.match(VERSION_LINE);
      const cache = join(dir, 'home', '.cache', 'container-image-proxy');
      expect(cacheFiles(cache)).to.have.length(1);
    });

    it("as another user, keeps it in ~/.cache/container-image-proxy, both made 0700 and that user's", () => {
      chmodSync(dir, 0o755);
      const home = directory(join(dir, 'home'), 0o755, NOBODY);
      const { XDG_CACHE_HOME: _xdg, ...withoutXdg } = env;
      const [program, ...leading] = form.command;
      const run = spawnSync(program!, [...leading, '--version'], { env: { ...withoutXdg, HOME: home }, uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
      expect([run.status, run.stderr]).to.deep.equal([0, '']);
      const cache = join(home, '.cache', 'container-image-proxy');
      for (const made of [dirname(cache), cache]) expect([statSync(made).uid, statSync(made).mode & 0o777]).to.deep.equal([NOBODY, 0o700]);
      const [file] = cacheFiles(cache);
      expect([statSync(join(cache, file!)).uid, statSync(join(cache, file!)).mode & 0o777]).to.deep.equal([NOBODY, 0o600]);
    });

    it('does not read through a link another user placed where a cache file goes, nor write through it, and replaces it with its own file', async () => {
      const good = await goodCache();
      const target = join(dir, 'target.v8cache');
      copyFileSync(good.path, target);
      const targetBefore = snapshot(target);
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      const link = join(cacheDir, good.name);
      symlinkSync(target, link);
      lchownSync(link, NOBODY, NOBODY);
      await version();
      // Read and accepted, the cache would have moved on to stage 2.
      expect(cacheFiles()).to.deep.equal([good.name]);
      const replaced = lstatSync(link);
      expect([replaced.isFile(), replaced.mode & 0o777, replaced.uid]).to.deep.equal([true, 0o600, 0]);
      expect(snapshot(target)).to.deep.equal(targetBefore);
    });

    it('does not write through a link placed where its temporary cache file goes, and still exits 0', async () => {
      const good = await goodCache();
      const target = join(dir, 'target');
      writeFileSync(target, 'not a cache', { mode: 0o600 });
      const targetBefore = snapshot(target);
      let link = '';
      const notes = await serve({}, (pid) => {
        link = join(cacheDir, `${good.name}.${pid}`);
        symlinkSync(target, link);
        lchownSync(link, NOBODY, NOBODY);
      });
      expect(notes).to.deep.equal([`code cache in ${cacheDir}`]);
      expect(lstatSync(link).isSymbolicLink()).to.equal(true);
      expect(snapshot(target)).to.deep.equal(targetBefore);
      expect(cacheFiles()).to.deep.equal([]);
    });

    it('with CONTAINER_IMAGE_PROXY_NO_CACHE=1, makes, reads and writes no cache, says so at --log-level debug, and serves', async () => {
      expect(await serve({ CONTAINER_IMAGE_PROXY_NO_CACHE: '1' })).to.deep.equal(['no code cache: CONTAINER_IMAGE_PROXY_NO_CACHE is set']);
      await version({ CONTAINER_IMAGE_PROXY_NO_CACHE: '1' });
      expect(existsSync(dirname(cacheDir))).to.equal(false);
    });
  });
}
