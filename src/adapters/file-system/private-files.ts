/**
 * Files the proxy writes and reads back for itself, not for the user (temporary copies of an
 * image export, code caches), are data it will trust later. They go only where no other user
 * can put, replace or swap anything:
 *
 * - a private directory is owned by this user and writable by neither group nor others, and so
 *   is every directory above it up to `/`, except that those may be owned by root, and a
 *   directory with the sticky bit (like /tmp) may be writable by all: there, others cannot
 *   rename or remove what they do not own;
 * - that holds for the path as written and for the path its symbolic links lead to, and a link
 *   on the way is owned by this user or root (a link someone else placed in /tmp is theirs to
 *   re-point);
 * - files are created with O_EXCL and O_NOFOLLOW, mode 0600, and checked on the opened handle.
 *
 * scripts/code-cache-loader.mjs holds a small copy of this rule for the code cache, which is read
 * before any of the bundle runs; test/adapters/file-system/private-files.test.ts keeps the two
 * in agreement.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdtemp, open, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ProxyError } from '../../domain/errors.js';

const WRITABLE_BY_GROUP_OR_OTHERS = 0o022;
const STICKY = 0o1000;
const CREATE_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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

/**
 * The rule along one spelling of an absolute path: `self` judges the directory itself, every
 * directory above it must pass parentProblem, and a link on the way must be this user's or root's.
 */
async function chainProblem(path: string, uid: number, self: typeof ownProblem): Promise<string | undefined> {
  const selfProblem = self(path, await stat(path), uid);
  if (selfProblem !== undefined) return selfProblem;
  for (let entry = path; ; ) {
    const link = await lstat(entry);
    if (link.isSymbolicLink() && link.uid !== uid && link.uid !== 0) return `${entry} is a symbolic link owned by uid ${link.uid}`;
    const parent = dirname(entry);
    if (parent === entry) return undefined;
    // stat, not lstat: a parent spelled through a link is judged as the directory holding `entry`.
    const problem = parentProblem(parent, await stat(parent), uid);
    if (problem !== undefined) return problem;
    entry = parent;
  }
}

async function pathProblem(path: string, self: typeof ownProblem): Promise<string | undefined> {
  const uid = currentUid();
  const absolute = resolve(path);
  try {
    const real = await realpath(absolute);
    return (await chainProblem(absolute, uid, self)) ?? (real === absolute ? undefined : await chainProblem(real, uid, self));
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

/**
 * A new, empty file, mode 0600, alone in a fresh 0700 directory under os.tmpdir() ($TMPDIR, else
 * /tmp). The temporary directory itself may be shared if it is sticky and owned by root or this
 * user (mkdtemp's name cannot be foreseen, and nobody else can rename what it makes); one owned by
 * another user or writable by others without the sticky bit is refused with an `io` ProxyError.
 */
export async function createPrivateTempFile(prefix: string): Promise<PrivateTempFile> {
  if (!/^[\w.-]+$/.test(prefix) || /^\.+$/.test(prefix)) throw new TypeError(`a temporary file's prefix must be a plain file name, not ${JSON.stringify(prefix)}`);
  const parent = tmpdir();
  const refused = await checkSharedParent(parent);
  if (refused !== undefined) throw new ProxyError('io', `cannot make a private temporary file in ${parent} (TMPDIR): ${refused}`);
  const dir = await mkdtemp(join(parent, `${prefix}-`));
  const path = join(dir, prefix);
  let handle: FileHandle | undefined;
  try {
    const problem = await checkPrivateDirectory(dir);
    if (problem !== undefined) throw new ProxyError('io', `cannot make a private temporary file: ${problem}`);
    handle = await open(path, CREATE_FLAGS, 0o600);
    const stats = await handle.stat();
    if (!stats.isFile() || stats.uid !== currentUid() || stats.nlink !== 1 || (stats.mode & 0o077) !== 0) {
      throw new ProxyError('io', `cannot make a private temporary file: ${path} is not the new private file it should be`);
    }
  } catch (err) {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
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
    },
  };
}
