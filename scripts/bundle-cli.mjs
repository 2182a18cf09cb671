/**
 * Bundles the compiled CLI (dist/src/app/driving/cli.js) and its dependencies into one CommonJS file,
 * plus a small launcher that package.json's `bin` points at. Why:
 * - one file instead of ~400 modules: no module resolution or package.json lookups at start;
 * - CommonJS: an ESM `import` of node:http materializes every export, which loads Node's
 *   internal copy of undici (~20 ms) just for the WebSocket getter;
 * - the launcher compiles the bundle with V8's code cache of a previous session, so from the
 *   second start on nothing it runs is compiled again (scripts/code-cache-loader.mjs).
 * Dynamic imports stay lazy: esbuild wraps each module in an init function run on first use.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { RUN_BUNDLE, WRAPPER_HEAD, WRAPPER_TAIL, contentKey } from './code-cache-loader.mjs';
import { SIDE_PACKAGES, lazyUndiciH2, mimeDbWithCharsets, sidePackages, unusedExpressParts } from './esbuild-plugins.mjs';
import { V8_FLAGS } from './runtime-flags.mjs';

const OUT_DIR = 'dist/src/bin';
const BUNDLE = 'container-image-proxy-bundle.cjs';
const LAUNCHER = 'container-image-proxy.cjs';

/** What the bundle and every side bundle are built with. */
const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minifyWhitespace: true,
  logLevel: 'warning',
  // openpgp calls createRequire(import.meta.url), which CommonJS has no value for.
  define: { 'import.meta.url': '__cipImportMetaUrl' },
  banner: { js: `${WRAPPER_HEAD}\nvar __cipImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: WRAPPER_TAIL },
  metafile: true,
};

/**
 * Builds one wrapped bundle and returns its contentKey. The loader compiles it with vm.Script,
 * which has no module loader: an import() that esbuild leaves in place (one of an external,
 * e.g. a builtin) would fail at run time.
 */
async function bundle(options) {
  const result = await build({ ...COMMON, ...options });
  const dynamicImports = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path),
  );
  if (dynamicImports.length > 0)
    throw new Error(`${options.outfile} would import() ${dynamicImports.join(', ')} at run time; use a static import or require()`);
  // esbuild keeps cli.ts's `#!` line first; inside the wrapper it is the loader's to drop, so
  // the file is written without it.
  const source = readFileSync(options.outfile, 'latin1').replace(/^#!.*\n/, '');
  writeFileSync(options.outfile, source, 'latin1');
  return contentKey(source);
}

const sideKeys = {};
for (const name of SIDE_PACKAGES)
  sideKeys[name] = await bundle({
    stdin: { contents: `export * from ${JSON.stringify(name)};`, resolveDir: '.' },
    outfile: `${OUT_DIR}/container-image-proxy-${name}.cjs`,
  });
const mainKey = await bundle({
  entryPoints: ['dist/src/app/driving/cli.js'],
  outfile: `${OUT_DIR}/${BUNDLE}`,
  plugins: [lazyUndiciH2, mimeDbWithCharsets, unusedExpressParts, sidePackages],
});
// For scripts/build-exe.mjs, outside dist/src so the package does not ship it.
writeFileSync('dist/bundle-keys.json', JSON.stringify({ bundle: mainKey, sides: sideKeys }));

// The shebang carries the V8 flags (scripts/runtime-flags.mjs) and two variables Node and glibc
// read before any JavaScript runs (the proxy's children inherit both):
// - MALLOC_ARENA_MAX=1 keeps V8's and libuv's helper threads from each growing a malloc arena
//   of their own while a blob streams (peak RSS ~118 → ~100 MiB, bench/README);
// - NODE_DISABLE_COMPILE_CACHE=1: a $NODE_COMPILE_CACHE would otherwise have Node compile this
//   launcher with a cache from a directory it never checks; the loader checks it first.
const launcher = `#!/usr/bin/env -S MALLOC_ARENA_MAX=1 NODE_DISABLE_COMPILE_CACHE=1 node ${V8_FLAGS.join(' ')}
'use strict';
// An older node first on PATH would fail somewhere deep inside undici; say what is wrong instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write('container-image-proxy: needs Node.js >= 22.19, but ' + process.execPath + ' is ' + process.version + '\\n');
  process.exit(1);
}
// The bundle, compiled with the code cache of a whole session (scripts/code-cache-loader.mjs).
${RUN_BUNDLE}
const { readFileSync } = require('node:fs');
const bundle = require('node:path').join(__dirname, '${BUNDLE}');
const loadSide = sideLoader((name, filename) => readFileSync(filename, 'latin1'), ${JSON.stringify(sideKeys)}, __dirname);
runBundle(readFileSync(bundle, 'latin1'), bundle, '${mainKey}')(exports, require, module, bundle, __dirname, loadSide);
`;
writeFileSync(`${OUT_DIR}/${LAUNCHER}`, launcher);
chmodSync(`${OUT_DIR}/${LAUNCHER}`, 0o755);
