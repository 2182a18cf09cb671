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
 * uses; the next start deserializes all of it. The cache lives where Node keeps its compile
 * cache ($NODE_COMPILE_CACHE, else os.tmpdir()/node-compile-cache), in a file named after the
 * bundle's content (its sha256, worked out when it is built: hashing 1–2 MB at every start
 * cost ~12 ms) and Node's version, the architecture and the V8 flags, so a change to any of
 * them starts a new one (V8 itself checks only the length of the source, its own version and
 * its flags). Only a file this user owns and nobody else can write is used: V8 runs the
 * bytecode a cache holds.
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
function runBundle(source, filename, key, fallbackCache) {
  const { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
  const { tmpdir } = require('node:os');
  const { join } = require('node:path');
  const { Script } = require('node:vm');
  const dir = process.env.NODE_COMPILE_CACHE || join(tmpdir(), 'node-compile-cache');
  // FNV-1a of the runtime and its flags; the content's key came with the bundle.
  let runtime = 0x811c9dc5;
  for (const char of [process.version, process.arch, ...process.execArgv].join('\\0')) runtime = Math.imul(runtime ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const base = join(dir, 'container-image-proxy-' + key + '-' + runtime.toString(16));
  // The first sessions after a cache is written each check at exit whether they compiled more
  // than it holds (createCachedData, 10–40 ms for a whole session's code): the one that did
  // writes the next stage, one that did not moves the file on a stage as it is. A first
  // --version run compiles almost nothing and the next session that serves adds what serving
  // uses; once three sessions have checked (stage 4), exits check nothing.
  const LAST_STAGE = 4;
  let stage = 0;
  let cachedData;
  for (let candidate = LAST_STAGE; candidate >= 1; candidate--) {
    try {
      const stat = statSync(base + '.' + candidate + '.v8cache');
      if (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) continue;
      cachedData = readFileSync(base + '.' + candidate + '.v8cache');
      stage = candidate;
      break;
    } catch {}
  }
  const script = new Script(source, { filename, cachedData: cachedData ?? fallbackCache });
  // A cache V8 refused (damaged) is replaced in place; an accepted one by the next stage.
  const accepted = stage > 0 && !script.cachedDataRejected;
  const cachedBytes = accepted ? cachedData.length : 0;
  const next = accepted ? stage + 1 : Math.max(stage, 1);
  cachedData = undefined;
  if (next <= LAST_STAGE) {
    process.once('exit', () => {
      // A cache that cannot be written only costs the next start its compile time. The
      // directory is made without { recursive: true }: Node's recursive mkdir spins forever on
      // a path under /proc.
      try {
        const data = script.createCachedData();
        const file = base + '.' + next + '.v8cache';
        const held = base + '.' + stage + '.v8cache';
        if (data.length <= cachedBytes * 1.05) return renameSync(held, file);
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (err) {
          if (err.code !== 'EEXIST') return;
        }
        const partial = file + '.' + process.pid;
        writeFileSync(partial, data, { mode: 0o600 });
        renameSync(partial, file);
        if (accepted) unlinkSync(held);
      } catch {}
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
