/**
 * Bundles the compiled CLI (dist/src/app/cli.js) and its dependencies into one CommonJS file,
 * plus a small launcher that package.json's `bin` points at. Why:
 * - one file instead of ~400 modules: no module resolution or package.json lookups at start;
 * - CommonJS: an ESM `import` of node:http materializes every export, which loads Node's
 *   internal copy of undici (~20 ms) just for the WebSocket getter;
 * - the launcher compiles the bundle with V8's code cache of a previous session, so from the
 *   second start on nothing it runs is compiled again (scripts/code-cache-loader.mjs).
 * Dynamic imports stay lazy: esbuild wraps each module in an init function run on first use.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { RUN_BUNDLE, WRAPPER_HEAD, WRAPPER_TAIL } from './code-cache-loader.mjs';
import { V8_FLAGS } from './runtime-flags.mjs';

const OUT_DIR = 'dist/src/bin';

// undici's Client requires its HTTP/2 module at load, and that module requires node:http2 (and
// node:tls through it), though it runs only for a connection that negotiated h2 — never for the
// proxy's dispatchers, which do not allow it. In the bundle, Client gets a stand-in that
// requires the real module on its first call instead (bench/README.md has what it saves).
const lazyUndiciH2 = {
  name: 'lazy-undici-h2',
  setup(build) {
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.endsWith('undici/lib/dispatcher/client.js') ? { path: args.path, namespace: 'lazy-undici-h2', pluginData: args.resolveDir } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-undici-h2' }, (args) => ({
      contents: "module.exports = (...args) => require('./client-h2.js')(...args);",
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};
const BUNDLE = 'container-image-proxy-bundle.cjs';
const LAUNCHER = 'container-image-proxy.cjs';

// express answers every res.set('Content-Type', type) through mime-types, which loads all of
// mime-db (~2,500 entries, turned into lookup tables at load: ~10 ms of CPU and ~3 MiB before
// the first answer). For a full media type — the only kind the proxy sets — mime-types reads
// nothing but an entry's `charset`, so the bundle gets the entries that have one (taken from
// the installed mime-db at build time) and answers exactly as before. What loses its table is
// lookup by file extension (static files, res.type('png')), which the proxy never uses.
const mimeDbWithCharsets = {
  name: 'mime-db-with-charsets',
  setup(build) {
    build.onResolve({ filter: /^mime-db$/ }, () => ({ path: 'mime-db', namespace: 'mime-db-with-charsets' }));
    build.onLoad({ filter: /.*/, namespace: 'mime-db-with-charsets' }, () => {
      const db = createRequire(import.meta.url)('mime-db');
      const withCharsets = Object.fromEntries(Object.entries(db).filter(([, entry]) => entry.charset !== undefined));
      return { contents: `module.exports = ${JSON.stringify(withCharsets)};`, loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: ['dist/src/app/cli.js'],
  outfile: `${OUT_DIR}/${BUNDLE}`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minifyWhitespace: true,
  logLevel: 'warning',
  plugins: [lazyUndiciH2, mimeDbWithCharsets],
  // openpgp calls createRequire(import.meta.url), which CommonJS has no value for.
  define: { 'import.meta.url': '__cipImportMetaUrl' },
  banner: { js: `${WRAPPER_HEAD}\nvar __cipImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: WRAPPER_TAIL },
  metafile: true,
});
// The loader compiles the bundle with vm.Script, which has no module loader: an import() that
// esbuild leaves in place (one of an external, e.g. a builtin) would fail at run time.
const dynamicImports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path));
if (dynamicImports.length > 0) throw new Error(`the bundle would import() ${dynamicImports.join(', ')} at run time; use a static import or require()`);
// esbuild keeps cli.ts's `#!` line first; inside the wrapper it is the loader's to drop, so
// the file is written without it.
const bundlePath = `${OUT_DIR}/${BUNDLE}`;
writeFileSync(bundlePath, readFileSync(bundlePath, 'utf8').replace(/^#!.*\n/, ''));

// The shebang carries the V8 flags (scripts/runtime-flags.mjs) and MALLOC_ARENA_MAX=1, which
// glibc reads at process start: it keeps V8's and libuv's helper threads from each growing a
// malloc arena of their own while a blob streams (peak RSS ~118 → ~100 MiB, bench/README).
const launcher = `#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node ${V8_FLAGS.join(' ')}
'use strict';
// An older node first on PATH would fail somewhere deep inside undici; say what is wrong instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write('container-image-proxy: needs Node.js >= 22.19, but ' + process.execPath + ' is ' + process.version + '\\n');
  process.exit(1);
}
// The bundle, compiled with the code cache of a whole session (scripts/code-cache-loader.mjs).
${RUN_BUNDLE}
const bundle = require('node:path').join(__dirname, '${BUNDLE}');
runBundle(require('node:fs').readFileSync(bundle, 'latin1'), bundle)(exports, require, module, bundle, __dirname);
`;
writeFileSync(`${OUT_DIR}/${LAUNCHER}`, launcher);
chmodSync(`${OUT_DIR}/${LAUNCHER}`, 0o755);
