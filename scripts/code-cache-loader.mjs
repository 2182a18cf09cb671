/**
 * How both forms of the CLI load the bundle: compiled with a V8 code cache that holds every
 * function a whole session compiled, not only the top level.
 *
 * Node's compile cache (module.enableCompileCache) and an executable's build-time code cache
 * are both made right after the script is compiled, when V8 has compiled little more than the
 * top level; every function a request runs is then compiled from source again at each start
 * (for a docker:// manifest that was ~15 % of the CPU to the first answer, bench/README.md).
 * Here the bundle is compiled with vm.Script and its cache is (re)written from
 * `script.createCachedData()` when the process exits, after the session has compiled what it
 * uses; the next start deserializes all of it. The cache file is named after the bundle's
 * content (its sha256, worked out when it is built: hashing 1–2 MB at every start cost ~12 ms)
 * and Node's version, the architecture and the V8 flags, so a change to any of them starts a new
 * one (V8 itself checks only the length of the source, its own version and its flags).
 *
 * V8 runs the bytecode a cache holds, so a cache is only ever read from and written to a
 * directory no other user can change (the rule of src/adapters/file-system/private-files.ts,
 * copied here because it runs before the bundle): $NODE_COMPILE_CACHE if the caller set it, else
 * a directory of this user's, made 0700 (cacheDirectory below). A directory that fails the rule
 * is not used, and CONTAINER_IMAGE_PROXY_NO_CACHE=1 turns the cache off; the CLI says which at
 * --log-level debug.
 * Files are opened without following links and checked on the opened handle; new ones are
 * created with O_EXCL, mode 0600. Node's own compile cache, which checks nothing of the kind, is
 * kept off: the bin's shebang sets NODE_DISABLE_COMPILE_CACHE, and the executable's main script
 * carries its build-time code cache, with which Node does not consult its own.
 */
import { createHash } from 'node:crypto';

/**
 * The CommonJS wrapper, written around the bundle and each side bundle when they are built
 * (scripts/bundle-cli.mjs): a file is then exactly the script V8 compiles, with no copy of it
 * made at start. `__cipLoadSide(name)` gives the bundle a side bundle's exports.
 */
export const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname, __cipLoadSide) {';
export const WRAPPER_TAIL = '\n})';

/** The key a (wrapped) bundle's cache file is named after. */
export function contentKey(source) {
  return createHash('sha256').update(source).digest('hex').slice(0, 32);
}

/**
 * JavaScript (CommonJS) defining
 * - `runBundle(source, filename, key, fallbackCache)`: compiles the wrapped bundle `source`
 *   (whose contentKey is `key`) with the session cache, or `fallbackCache` (a Buffer, e.g. the
 *   executable's build-time cache) when there is none yet, and returns the wrapper to call;
 * - `sideLoader(sourceOf, keys, dir)`: the bundle's `__cipLoadSide`, which runs the side
 *   bundle `name` (its source from `sourceOf(name, filename)`) the same way, once (esbuild keeps each
 *   module's exports, so a side bundle is asked for at most once).
 */
export const RUN_BUNDLE = `
const CACHE_NAME = 'container-image-proxy';

// The rule of src/adapters/file-system/private-files.ts, which the bundle holds but which must
// run before it: why \`path\` is not a directory only this user can change (\`own\`), or, for a
// parent, one where nobody else can swap what lies below it; undefined when it passes. The path
// is followed as the kernel follows it, one name at a time, each link hop by hop.
function directoryProblem(path, own) {
  const { lstatSync, readlinkSync } = require('node:fs');
  const { dirname, join, resolve } = require('node:path');
  const uid = process.getuid();
  const mode = (stat) => (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const judge = (dir, stat, self) => {
    if (!stat.isDirectory()) return dir + ' is not a directory';
    if (self && stat.uid !== uid) return dir + ' is owned by uid ' + stat.uid + ', not by this user (uid ' + uid + ')';
    if (self && (stat.mode & 0o022) !== 0) return dir + ' is writable by group or others (mode ' + mode(stat) + ')';
    if (stat.uid !== uid && stat.uid !== 0) return dir + ' is owned by uid ' + stat.uid + ', neither this user (uid ' + uid + ') nor root';
    if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) return dir + ' is writable by group or others without the sticky bit (mode ' + mode(stat) + ')';
  };
  const namesOf = (p) => p.split('/').filter((name) => name !== '' && name !== '.').reverse();
  const absolute = resolve(path);
  try {
    const rest = namesOf(absolute);
    let at = '/';
    let links = 0;
    let problem = judge('/', lstatSync('/'), own && rest.length === 0);
    while (problem === undefined && rest.length > 0) {
      const name = rest.pop();
      if (name === '..') {
        at = dirname(at);
        if (rest.length === 0) problem = judge(at, lstatSync(at), own);
        continue;
      }
      const entry = join(at, name);
      const stat = lstatSync(entry);
      if (stat.isSymbolicLink()) {
        if (stat.uid !== uid && stat.uid !== 0) return entry + ' is a symbolic link owned by uid ' + stat.uid;
        if (++links > 40) return absolute + ' cannot be checked: more than 40 symbolic links on the way';
        const target = readlinkSync(entry);
        if (target.startsWith('/')) at = '/';
        rest.push(...namesOf(target));
        if (rest.length === 0) problem = judge(at, lstatSync(at), own);
        continue;
      }
      problem = judge(entry, stat, own && rest.length === 0);
      at = entry;
    }
    return problem;
  } catch (err) {
    return absolute + ' cannot be checked: ' + err.message;
  }
}

// Makes \`dir\` (0700) only inside a directory that passes the rule, then checks it; the reason it
// cannot be used, or undefined. Missing parents are made too (0700) only for a directory of the
// user's own (\`parents\`: $XDG_CACHE_HOME, ~/.cache); a missing /var/cache is the system's to
// make, with the mode others need, not the proxy's. Not mkdir's { recursive: true }: Node's
// recursive mkdir spins forever on a path under /proc.
function makePrivateDirectory(dir, parents) {
  const { existsSync, mkdirSync } = require('node:fs');
  if (!existsSync(dir)) {
    const parent = require('node:path').dirname(dir);
    const problem = existsSync(parent) ? directoryProblem(parent, false) : parents ? makePrivateDirectory(parent, true) : parent + ' does not exist';
    if (problem !== undefined) return problem;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (err.code !== 'EEXIST') return dir + ' cannot be made: ' + err.message;
    }
  }
  return directoryProblem(dir, true);
}

// The code cache's directory, or undefined when there is none to use; what was decided is left
// for the CLI to log at debug level (src/app/driving/code-cache-note.ts). $NODE_COMPILE_CACHE is the
// caller's choice; else a directory of this user's: $XDG_CACHE_HOME/container-image-proxy,
// for root /var/cache/container-image-proxy if it can be made, else ~/.cache/container-image-proxy.
let chosenCacheDirectory;
function cacheDirectory() {
  if (chosenCacheDirectory !== undefined) return chosenCacheDirectory || undefined;
  const { isAbsolute, join } = require('node:path');
  const env = process.env;
  let note;
  chosenCacheDirectory = false;
  if (env.CONTAINER_IMAGE_PROXY_NO_CACHE && env.CONTAINER_IMAGE_PROXY_NO_CACHE !== '0') {
    note = 'no code cache: CONTAINER_IMAGE_PROXY_NO_CACHE is set';
  } else {
    const problems = [];
    try {
      // homedir() throws for a user with neither $HOME nor a passwd entry.
      const home = [() => join(require('node:os').homedir(), '.cache', CACHE_NAME), true];
      const candidates = env.NODE_COMPILE_CACHE ? [[() => env.NODE_COMPILE_CACHE, true]]
        : env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? [[() => join(env.XDG_CACHE_HOME, CACHE_NAME), true]]
        : process.getuid() === 0 ? [[() => '/var/cache/' + CACHE_NAME, false], home] : [home];
      for (const [candidate, parents] of candidates) {
        const dir = candidate();
        const problem = makePrivateDirectory(dir, parents);
        if (problem === undefined) {
          chosenCacheDirectory = dir;
          break;
        }
        problems.push(problem);
      }
    } catch (err) {
      problems.push(err.message);
    }
    note = chosenCacheDirectory ? 'code cache in ' + chosenCacheDirectory : 'no code cache: ' + problems.join('; ');
  }
  globalThis[Symbol.for('container-image-proxy.code-cache')] = note;
  return chosenCacheDirectory || undefined;
}

function runBundle(source, filename, key, fallbackCache) {
  const { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const { Script } = require('node:vm');
  const dir = cacheDirectory();
  if (dir === undefined) return new Script(source, { filename, cachedData: fallbackCache }).runInThisContext();
  // FNV-1a of the runtime and its flags; the content's key came with the bundle.
  let runtime = 0x811c9dc5;
  for (const char of [process.version, process.arch, ...process.execArgv].join('\\0')) runtime = Math.imul(runtime ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const base = join(dir, CACHE_NAME + '-' + key + '-' + runtime.toString(16));
  // The first sessions after a cache is written each check at exit whether they compiled more
  // than it holds (createCachedData, 10–40 ms for a whole session's code): the one that did
  // writes the next stage, one that did not moves the file on a stage as it is. A first
  // --version run compiles almost nothing and the next session that serves adds what serving
  // uses; once three sessions have checked (stage 4), exits check nothing.
  const LAST_STAGE = 4;
  let stage = 0;
  let cachedData;
  for (let candidate = LAST_STAGE; candidate >= 1; candidate--) {
    // Never through a link, and only a regular file of this user's that nobody else can write,
    // as the opened file says: V8 runs the bytecode a cache holds.
    let fd;
    try {
      fd = openSync(base + '.' + candidate + '.v8cache', constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) continue;
      cachedData = readFileSync(fd);
      stage = candidate;
      break;
    } catch {
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  const script = new Script(source, { filename, cachedData: cachedData ?? fallbackCache });
  // A cache V8 refused (damaged) is replaced in place; an accepted one by the next stage.
  const accepted = stage > 0 && !script.cachedDataRejected;
  const cachedBytes = accepted ? cachedData.length : 0;
  const next = accepted ? stage + 1 : Math.max(stage, 1);
  cachedData = undefined;
  if (next <= LAST_STAGE) {
    process.once('exit', () => {
      // A cache that cannot be written only costs the next start its compile time.
      const partial = base + '.' + next + '.v8cache.' + process.pid;
      try {
        const data = script.createCachedData();
        const file = base + '.' + next + '.v8cache';
        const held = base + '.' + stage + '.v8cache';
        if (data.length <= cachedBytes * 1.05) return renameSync(held, file);
        // A new file of this process's own (O_EXCL: not one, or a link, that was there), renamed
        // into place whole.
        const fd = openSync(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          writeFileSync(fd, data);
        } finally {
          closeSync(fd);
        }
        renameSync(partial, file);
        if (accepted) unlinkSync(held);
      } catch (err) {
        if (err.code !== 'EEXIST') try { unlinkSync(partial); } catch {}
      }
    });
  }
  return script.runInThisContext();
}

function sideLoader(sourceOf, keys, dir) {
  return (name) => {
    const filename = require('node:path').join(dir, 'container-image-proxy-' + name + '.cjs');
    const side = { exports: {} };
    runBundle(sourceOf(name, filename), filename, keys[name])(side.exports, require, side, filename, dir);
    return side.exports;
  };
}
`;
