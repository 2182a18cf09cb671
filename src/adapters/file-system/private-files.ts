/**
 * Files the proxy writes and reads back for itself, not for the user (temporary copies of an
 * image export, code caches), are data it will trust later. They go only where no other user
 * can put, replace or swap anything:
 *
 * - a private directory is owned by this user and writable by neither group nor others, and so
 *   is every directory above it up to `/`, except that those may be owned by root, and a
 *   directory with the sticky bit (like /tmp) may be writable by all: there, others cannot
 *   rename or remove what they do not own;
 * - that holds for every directory the path leads through as the kernel follows it, links to
 *   links included, and every link on the way is owned by this user or root (a link someone else
 *   placed in /tmp is theirs to re-point);
 * - files are created with O_EXCL and O_NOFOLLOW, mode 0600, and checked on the opened handle.
 *
 * scripts/code-cache-loader.mjs holds a small copy of this rule for the code cache, which is read
 * before any of the bundle runs; test/adapters/file-system/private-files.test.ts keeps the two
 * in agreement.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { removeAtExit } from './exit-cleanup.js';

const WRITABLE_BY_GROUP_OR_OTHERS = 0o022;
const STICKY = 0o1000;
const CREATE_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface PrivateTempFileOptions {
  /** Removed when the process exits too, if still there: registered before it is made, so no exit can leave it. */
  readonly removeAtExit?: boolean;
}

export interface PrivateTempFile {
  readonly path: string;
  /** Open for reading and writing. */
  readonly handle: FileHandle;
  /** Closes the handle (if still open) and deletes the file and its directory; safe to call again. */
  remove(): Promise<void>;
}

function currentUid(): number {
  // Linux only (the proxy's platform): process.getuid exists there.
  return process.getuid?.() ?? -1;
}

const octal = (stats: Stats): string => (stats.mode & 0o7777).toString(8).padStart(4, '0');

/** Why `path` (the directory itself) is not private; undefined when it is. */
function ownProblem(path: string, stats: Stats, uid: number): string | undefined {
  if (!stats.isDirectory()) return `${path} is not a directory`;
  if (stats.uid !== uid) return `${path} is owned by uid ${stats.uid}, not by this user (uid ${uid})`;
  if ((stats.mode & WRITABLE_BY_GROUP_OR_OTHERS) !== 0) return `${path} is writable by group or others (mode ${octal(stats)})`;
  return undefined;
}

/** Why another user could swap what lies below directory `path`; undefined when nobody can. */
function parentProblem(path: string, stats: Stats, uid: number): string | undefined {
  if (!stats.isDirectory()) return `${path} is not a directory`;
  if (stats.uid !== uid && stats.uid !== 0) return `${path} is owned by uid ${stats.uid}, neither this user (uid ${uid}) nor root`;
  if ((stats.mode & WRITABLE_BY_GROUP_OR_OTHERS) !== 0 && (stats.mode & STICKY) === 0) {
    return `${path} is writable by group or others without the sticky bit (mode ${octal(stats)})`;
  }
  return undefined;
}

/** Linux refuses a path that leads through more links than this (ELOOP). */
const MAX_LINKS = 40;

/** The names of a path, in reverse order (the next one last), without empty and `.` ones. */
const namesOf = (path: string): string[] =>
  path
    .split('/')
    .filter((name) => name !== '' && name !== '.')
    .reverse();

/**
 * The rule along `path` as the kernel resolves it, one name at a time from `/`: every directory
 * passed through must pass parentProblem, every link followed must be this user's or root's (the
 * directory holding it passed already), and the directory the path ends at must pass `self`. A
 * link's target is followed from where the link is, so a link to a link is judged hop by hop:
 * judging only the path as written and where it ends would miss a link in between, which
 * whoever can write its directory, or owns it, can re-point after the check.
 */
async function pathProblem(path: string, self: typeof ownProblem): Promise<string | undefined> {
  const uid = currentUid();
  const absolute = resolve(path);
  try {
    const rest = namesOf(absolute);
    let at = '/';
    let links = 0;
    let problem = (rest.length === 0 ? self : parentProblem)('/', await lstat('/'), uid);
    while (problem === undefined && rest.length > 0) {
      const name = rest.pop()!;
      if (name === '..') {
        // Back to a directory judged on the way down; judged as the end if it is one.
        at = dirname(at);
        if (rest.length === 0) problem = self(at, await lstat(at), uid);
        continue;
      }
      const entry = join(at, name);
      const stats = await lstat(entry);
      if (stats.isSymbolicLink()) {
        if (stats.uid !== uid && stats.uid !== 0) return `${entry} is a symbolic link owned by uid ${stats.uid}`;
        if (++links > MAX_LINKS) return `${absolute} cannot be checked: more than ${MAX_LINKS} symbolic links on the way`;
        const target = await readlink(entry);
        if (target.startsWith('/')) at = '/';
        rest.push(...namesOf(target));
        // A link to `/` or to `.` ends where its target is.
        if (rest.length === 0) problem = self(at, await lstat(at), uid);
        continue;
      }
      problem = (rest.length === 0 ? self : parentProblem)(entry, stats, uid);
      at = entry;
    }
    return problem;
  } catch (err) {
    return `${absolute} cannot be checked: ${(err as Error).message}`;
  }
}

/**
 * Undefined when `path` is a private directory (see above), else a short reason naming the
 * directory at fault.
 */
export function checkPrivateDirectory(path: string): Promise<string | undefined> {
  return pathProblem(path, ownProblem);
}

/**
 * Undefined when nobody but this user and root can swap what lies below directory `path` (the
 * rule for its parents: a root-owned sticky directory like /tmp passes), else a short reason.
 */
export function checkSharedParent(path: string): Promise<string | undefined> {
  return pathProblem(path, parentProblem);
}

/** How many fresh names mkdir may find taken before making a directory is given up. */
const NAME_ATTEMPTS = 16;

/**
 * A new 0700 directory `PREFIX-RANDOM` in `parent`, as mkdtemp makes one, but with the name
 * chosen first, so that whoever must remove it (`register`) knows it before it exists.
 */
async function makeFreshDirectory(parent: string, prefix: string, register: (dir: string) => () => void): Promise<{ dir: string; forget: () => void }> {
  for (let attempt = 1; ; attempt++) {
    const dir = join(parent, `${prefix}-${randomBytes(9).toString('base64url')}`);
    const forget = register(dir);
    try {
      await mkdir(dir, 0o700);
      return { dir, forget };
    } catch (err) {
      forget();
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === NAME_ATTEMPTS) throw err;
    }
  }
}

const NOTHING_TO_FORGET = (): (() => void) => () => undefined;

/**
 * A new, empty file, mode 0600, alone in a fresh 0700 directory under os.tmpdir() ($TMPDIR, else
 * /tmp). The temporary directory itself may be shared if it is sticky and owned by root or this
 * user (the directory's random name cannot be foreseen, and nobody else can rename what it makes); one owned by
 * another user or writable by others without the sticky bit is refused with an `io` ProxyError, and
 * so is one where nothing can be made (read-only, full, not a real directory like /proc): that is
 * the host's temporary directory failing, not the proxy.
 */
export async function createPrivateTempFile(prefix: string, options: PrivateTempFileOptions = {}): Promise<PrivateTempFile> {
  if (!/^[\w.-]+$/.test(prefix) || /^\.+$/.test(prefix))
    throw new TypeError(`a temporary file's prefix must be a plain file name, not ${JSON.stringify(prefix)}`);
  const parent = tmpdir();
  const refused = await checkSharedParent(parent);
  if (refused !== undefined) throw new ProxyError('io', `cannot make a private temporary file in ${parent} (TMPDIR): ${refused}`);
  const cannotMake = (err: unknown) =>
    new ProxyError('io', `cannot make a private temporary file in ${parent} (TMPDIR): ${(err as Error).message}`, { cause: err });
  const { dir, forget } = await makeFreshDirectory(parent, prefix, options.removeAtExit === true ? removeAtExit : NOTHING_TO_FORGET).catch((err: unknown) => {
    throw cannotMake(err);
  });
  const path = join(dir, prefix);
  let handle: FileHandle | undefined;
  try {
    const problem = await checkPrivateDirectory(dir);
    if (problem !== undefined) throw new ProxyError('io', `cannot make a private temporary file: ${problem}`);
    handle = await open(path, CREATE_FLAGS, 0o600).catch((err: unknown) => {
      throw cannotMake(err);
    });
    const stats = await handle.stat();
    if (!stats.isFile() || stats.uid !== currentUid() || stats.nlink !== 1 || (stats.mode & 0o077) !== 0) {
      throw new ProxyError('io', `cannot make a private temporary file: ${path} is not the new private file it should be`);
    }
  } catch (err) {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
    forget();
    throw err;
  }
  const opened = handle;
  return {
    path,
    handle: opened,
    async remove() {
      // Closing a FileHandle that is already closed does nothing.
      await opened.close();
      await rm(dir, { recursive: true, force: true });
      forget();
    },
  };
}
