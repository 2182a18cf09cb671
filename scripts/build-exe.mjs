/**
 * `npm run build:exe`: one self-contained executable, dist/exe/container-image-proxy, for the
 * machine's platform (linux-x64 here): Node's single executable application (SEA) format over
 * the one-file bundle that `npm run build` makes. The runtime is the pinned `node` dev
 * dependency's binary and the blob goes in with `postject`, both from npm, so nothing is
 * downloaded from anywhere else. Run after `npm run build`.
 *
 * - useCodeCache: V8's code cache for the bundle is made now and stored in the executable, as
 *   the bin's launcher does at first start with the compile cache.
 * - execArgv: the V8 flags the bin's shebang carries (scripts/runtime-flags.mjs). The other
 *   half of that shebang, MALLOC_ARENA_MAX=1, is read by glibc before any JavaScript runs, no
 *   JavaScript API reaches mallopt(), and process.execve() would close the inherited socket
 *   (it keeps only fds 0–2), so the executable cannot set it for itself; a parent can set it in
 *   the executable's environment (bench/README.md has what it is worth).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { V8_FLAGS } from './runtime-flags.mjs';

const require = createRequire(import.meta.url);
const OUT_DIR = resolve('dist/exe');
const EXE = join(OUT_DIR, 'container-image-proxy');
const BUNDLE = resolve('dist/src/bin/container-image-proxy-bundle.cjs');
// The sentinel Node's SEA loader looks for (documented with `postject` in Node's SEA guide).
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

// The node package's own bin is a JavaScript shim; the binary itself is bin/node beside it.
const runtime = join(require.resolve('node/package.json'), '..', 'bin', 'node');
const postject = require.resolve('postject/dist/cli.js');
statSync(BUNDLE);

mkdirSync(OUT_DIR, { recursive: true });
const config = join(OUT_DIR, 'sea-config.json');
const blob = join(OUT_DIR, 'sea-prep.blob');
writeFileSync(config, JSON.stringify({ main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, execArgv: V8_FLAGS }));
try {
  // V8 rejects a code cache made under other flags than those it runs with.
  execFileSync(runtime, [...V8_FLAGS, '--experimental-sea-config', config], { stdio: 'pipe' });
  rmSync(EXE, { force: true });
  copyFileSync(runtime, EXE);
  chmodSync(EXE, 0o755);
  // postject warns "Can't find string offset for section name '.note.100'" about Node's ELF
  // notes; the injection works, so only a failure's output is shown.
  execFileSync(runtime, [postject, EXE, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' });
  // A file just written sits in the page cache as it was written, and a process mapping it then
  // maps ~17 MiB more of it than one mapping the same file read back from disk (measured on
  // this kernel, bench/README.md). Dropping the written pages (coreutils dd's documented way to
  // call posix_fadvise DONTNEED) makes the first runs look like every later one.
  execFileSync('dd', [`of=${EXE}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
  process.stdout.write(`${EXE} (${(statSync(EXE).size / 1024 / 1024).toFixed(1)} MiB)\n`);
} catch (err) {
  process.stderr.write(`build:exe failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}\n`);
  rmSync(EXE, { force: true });
  process.exitCode = 1;
} finally {
  rmSync(config, { force: true });
  rmSync(blob, { force: true });
}
