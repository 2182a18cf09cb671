/**
 * The private-directory rule and private temporary files (src/adapters/file-system/private-files.ts)
 * on the real file system, with directories and links owned by another user (`nobody`), which
 * needs root: the tests run as root, as CI does.
 */
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInThisContext } from 'node:vm';
import { expect } from 'chai';
import { checkPrivateDirectory, checkSharedParent, createPrivateTempFile } from '../../../src/adapters/file-system/private-files.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { REPO_ROOT } from '../../support/spawn-proxy.js';

const NOBODY = 65534;

/** A directory of mode `mode` at `path` (parents made as 0755), owned by `uid` when given. */
function directory(path: string, mode: number, uid?: number): string {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  chmodSync(path, mode);
  if (uid !== undefined) chownSync(path, uid, uid);
  return path;
}

function link(path: string, target: string, uid?: number): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  symlinkSync(target, path);
  if (uid !== undefined) lchownSync(path, uid, uid);
  return path;
}

/** Each case makes what it checks under `base` (a root-owned 0700 directory) and returns the path to check. */
interface DirectoryCase {
  readonly name: string;
  readonly make: (base: string) => string;
  /** undefined: the directory is private; else what the reason must say. */
  readonly reason: RegExp | undefined;
}

const DIRECTORY_CASES: readonly DirectoryCase[] = [
  { name: 'a 0700 directory of this user', make: (base) => directory(join(base, 'cache'), 0o700), reason: undefined },
  { name: 'a 0755 directory of this user (others may read, not write)', make: (base) => directory(join(base, 'cache'), 0o755), reason: undefined },
  { name: 'a directory of mode 0777', make: (base) => directory(join(base, 'cache'), 0o777), reason: /cache is writable by group or others \(mode 0777\)/ },
  { name: 'a directory its group can write (0770)', make: (base) => directory(join(base, 'cache'), 0o770), reason: /writable by group or others/ },
  { name: 'a sticky directory anyone can write (1777)', make: (base) => directory(join(base, 'cache'), 0o1777), reason: /writable by group or others/ },
  {
    name: 'a 0700 directory owned by nobody',
    make: (base) => directory(join(base, 'cache'), 0o700, NOBODY),
    reason: /cache is owned by uid 65534, not by this user/,
  },
  {
    name: 'a private directory in a parent anyone can write, without the sticky bit',
    make: (base) => {
      directory(join(base, 'shared'), 0o777);
      return directory(join(base, 'shared', 'cache'), 0o700);
    },
    reason: /shared is writable by group or others without the sticky bit/,
  },
  {
    name: 'a private directory in a root-owned sticky directory (like /tmp)',
    make: (base) => {
      directory(join(base, 'tmp'), 0o1777);
      return directory(join(base, 'tmp', 'cache'), 0o700);
    },
    reason: undefined,
  },
  {
    name: 'a private directory in a 0755 parent owned by nobody',
    make: (base) => {
      directory(join(base, 'theirs'), 0o755, NOBODY);
      return directory(join(base, 'theirs', 'cache'), 0o700);
    },
    reason: /theirs is owned by uid 65534, neither this user/,
  },
  {
    name: 'a private directory two levels below a parent anyone can write',
    make: (base) => {
      directory(join(base, 'shared'), 0o777);
      directory(join(base, 'shared', 'mine'), 0o755);
      return directory(join(base, 'shared', 'mine', 'cache'), 0o700);
    },
    reason: /shared is writable by group or others without the sticky bit/,
  },
  {
    name: 'a link owned by nobody in a sticky directory, to a private directory',
    make: (base) => {
      directory(join(base, 'tmp'), 0o1777);
      const target = directory(join(base, 'real'), 0o700);
      return link(join(base, 'tmp', 'cache'), target, NOBODY);
    },
    reason: /tmp\/cache is a symbolic link owned by uid 65534/,
  },
  {
    name: 'a link of this user to a directory owned by nobody',
    make: (base) => link(join(base, 'cache'), directory(join(base, 'real'), 0o700, NOBODY)),
    reason: /real is owned by uid 65534, not by this user/,
  },
  {
    name: 'a link of this user to a link nobody owns in a sticky directory, to a private directory',
    make: (base) => {
      directory(join(base, 'tmp'), 0o1777);
      link(join(base, 'tmp', 'hop'), directory(join(base, 'real'), 0o700), NOBODY);
      return link(join(base, 'cache'), join(base, 'tmp', 'hop'));
    },
    reason: /tmp\/hop is a symbolic link owned by uid 65534/,
  },
  {
    name: "a link of this user to a link of root's in a parent anyone can write, to a private directory",
    make: (base) => {
      directory(join(base, 'shared'), 0o777);
      link(join(base, 'shared', 'hop'), directory(join(base, 'real'), 0o700));
      return link(join(base, 'cache'), join(base, 'shared', 'hop'));
    },
    reason: /shared is writable by group or others without the sticky bit/,
  },
  {
    name: 'a private directory reached through a relative link that climbs out with ..',
    make: (base) => {
      directory(join(base, 'real', 'cache'), 0o700);
      link(join(base, 'sub', 'up'), '../real');
      return join(base, 'sub', 'up', 'cache');
    },
    reason: undefined,
  },
  {
    name: 'a private directory behind a relative link that climbs out of a parent anyone can write',
    make: (base) => {
      directory(join(base, 'real', 'cache'), 0o700);
      directory(join(base, 'shared'), 0o777);
      link(join(base, 'shared', 'up'), '../real');
      return join(base, 'shared', 'up', 'cache');
    },
    reason: /shared is writable by group or others without the sticky bit/,
  },
  {
    name: 'a link that leads to itself',
    make: (base) => link(join(base, 'loop'), join(base, 'loop')),
    reason: /loop cannot be checked: more than 40 symbolic links on the way/,
  },
  {
    name: 'a link of this user to a private directory in a parent anyone can write',
    make: (base) => {
      directory(join(base, 'shared'), 0o777);
      return link(join(base, 'cache'), directory(join(base, 'shared', 'real'), 0o700));
    },
    reason: /shared is writable by group or others without the sticky bit/,
  },
  {
    name: 'a private directory reached through a link of this user to a private parent',
    make: (base) => {
      directory(join(base, 'real', 'cache'), 0o700);
      link(join(base, 'via'), join(base, 'real'));
      return join(base, 'via', 'cache');
    },
    reason: undefined,
  },
  { name: 'a missing directory', make: (base) => join(base, 'absent'), reason: /absent cannot be checked: ENOENT/ },
  {
    name: 'a regular file',
    make: (base) => {
      writeFileSync(join(base, 'file'), '');
      return join(base, 'file');
    },
    reason: /file is not a directory/,
  },
];

describe('private directories and temporary files', () => {
  let base: string;

  before(function () {
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('the private-file tests chown to nobody and must run as root under CI');
      console.warn('    (skipped: not root, cannot chown to nobody)');
      this.skip();
    }
  });
  beforeEach(() => {
    base = makeTempDir('private-files');
  });
  afterEach(() => removeTempDir(base));

  describe('checkPrivateDirectory', () => {
    for (const { name, make, reason } of DIRECTORY_CASES) {
      it(`${reason === undefined ? 'accepts' : 'refuses'} ${name}`, async () => {
        const problem = await checkPrivateDirectory(make(base));
        if (reason === undefined) expect(problem).to.equal(undefined);
        else expect(problem).to.match(reason);
      });
    }
  });

  describe('createPrivateTempFile', () => {
    let savedTmpdir: string | undefined;
    beforeEach(() => {
      savedTmpdir = process.env['TMPDIR'];
    });
    afterEach(() => {
      if (savedTmpdir === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = savedTmpdir;
    });

    it('makes a 0600 file alone in a fresh 0700 directory of TMPDIR, and remove() deletes both, more than once', async () => {
      process.env['TMPDIR'] = directory(join(base, 'tmp'), 0o1777);
      const file = await createPrivateTempFile('docker-daemon-export');
      expect(dirname(dirname(file.path))).to.equal(join(base, 'tmp'));
      expect(file.path).to.match(/\/docker-daemon-export-[^/]+\/docker-daemon-export$/);
      expect(statSync(dirname(file.path)).mode & 0o7777).to.equal(0o700);
      expect(readdirSync(dirname(file.path))).to.deep.equal(['docker-daemon-export']);
      const stats = lstatSync(file.path);
      expect([stats.isFile(), stats.mode & 0o7777, stats.uid]).to.deep.equal([true, 0o600, 0]);
      await file.handle.write('exported');
      expect(await readFile(file.path, 'utf8')).to.equal('exported');
      await file.remove();
      expect(existsSync(dirname(file.path))).to.equal(false);
      await file.remove();
    });

    it('removes file and directory when the caller closed the handle itself', async () => {
      process.env['TMPDIR'] = directory(join(base, 'tmp'), 0o700);
      const file = await createPrivateTempFile('export');
      await file.handle.close();
      await file.remove();
      expect(existsSync(dirname(file.path))).to.equal(false);
    });

    for (const [name, make, reason] of [
      ['owned by another user', (tmp: string) => directory(tmp, 0o1777, NOBODY), /owned by uid 65534/],
      ['anyone can write without the sticky bit', (tmp: string) => directory(tmp, 0o777), /writable by group or others without the sticky bit/],
      [
        'that is a link nobody owns in a sticky directory',
        (tmp: string) => link(tmp, directory(join(base, 'real'), 0o700), NOBODY),
        /symbolic link owned by uid 65534/,
      ],
    ] as const) {
      it(`refuses a TMPDIR ${name}, naming it, and makes nothing there`, async () => {
        const tmp = make(join(directory(join(base, 'outer'), 0o1777), 'tmp'));
        process.env['TMPDIR'] = tmp;
        const err = await createPrivateTempFile('export').then(
          () => expect.fail('expected a refusal'),
          (reason: unknown) => reason,
        );
        expect(isProxyError(err, 'io'), String(err)).to.equal(true);
        expect((err as Error).message)
          .to.contain(`in ${tmp} (TMPDIR)`)
          .and.to.match(reason);
        expect(readdirSync(tmp)).to.deep.equal([]);
      });
    }

    it('refuses a TMPDIR where nothing can be made (under /proc) as an io error naming it, not a bug', async () => {
      process.env['TMPDIR'] = '/proc';
      const err = await createPrivateTempFile('export').then(
        () => expect.fail('expected a refusal'),
        (reason: unknown) => reason,
      );
      expect(isProxyError(err, 'io'), String(err)).to.equal(true);
      expect((err as Error).message).to.match(/^cannot make a private temporary file in \/proc \(TMPDIR\): ENOENT/);
    });

    it('refuses a TMPDIR reached through a link nobody owns, even one pointing to a private directory', async () => {
      const real = directory(join(base, 'real'), 0o700);
      const hop = link(join(directory(join(base, 'sticky'), 0o1777), 'hop'), real, NOBODY);
      process.env['TMPDIR'] = link(join(base, 'tmp'), hop);
      const err = await createPrivateTempFile('export').then(
        () => expect.fail('expected a refusal'),
        (reason: unknown) => reason,
      );
      expect(isProxyError(err, 'io'), String(err)).to.equal(true);
      expect((err as Error).message).to.contain(`${hop} is a symbolic link owned by uid 65534`);
      expect(readdirSync(real)).to.deep.equal([]);
    });

    it('refuses a prefix that is not a plain file name', async () => {
      for (const prefix of ['', '..', 'a/b', '../x']) {
        const err = await createPrivateTempFile(prefix).then(
          () => expect.fail(`expected ${JSON.stringify(prefix)} to be refused`),
          (reason: unknown) => reason,
        );
        expect(err).to.be.instanceOf(TypeError);
      }
    });
  });
});

/** The copy of the rule the code-cache loader runs before the bundle (scripts/code-cache-loader.mjs). */
async function loaderRule(): Promise<(path: string, own: boolean) => string | undefined> {
  const { RUN_BUNDLE } = (await import(pathToFileURL(join(REPO_ROOT, 'scripts/code-cache-loader.mjs')).href)) as { RUN_BUNDLE: string };
  const define = runInThisContext(`(function (require) {${RUN_BUNDLE}\nreturn directoryProblem;\n})`) as (
    require: NodeJS.Require,
  ) => (path: string, own: boolean) => string | undefined;
  return define(createRequire(import.meta.url));
}

describe("the code-cache loader's copy of the private-directory rule", () => {
  let base: string;
  let directoryProblem: (path: string, own: boolean) => string | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('the private-file tests chown to nobody and must run as root under CI');
      this.skip();
    }
    directoryProblem = await loaderRule();
  });
  beforeEach(() => {
    base = makeTempDir('private-files-loader');
  });
  afterEach(() => removeTempDir(base));

  for (const { name, make } of DIRECTORY_CASES) {
    it(`gives the same answers as private-files.ts, word for word, for ${name}`, async () => {
      const path = make(base);
      expect(directoryProblem(path, true)).to.equal(await checkPrivateDirectory(path));
      expect(directoryProblem(path, false)).to.equal(await checkSharedParent(path));
    });
  }
});
