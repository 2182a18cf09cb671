/**
 * What scripts/bundle-cli.mjs changes while bundling, each to cut what a start loads, compiles
 * or reads (bench/README.md has what each saved).
 */
import { createRequire } from 'node:module';

// undici's Client requires its HTTP/2 module at load, and that module requires node:http2 (and
// node:tls through it), though it runs only for a connection that negotiated h2 — never for the
// proxy's dispatchers, which do not allow it. In the bundle, Client gets a stand-in that
// requires the real module on its first call instead.
export const lazyUndiciH2 = {
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

// express answers every res.set('Content-Type', type) through mime-types, which loads all of
// mime-db (~2,500 entries, turned into lookup tables at load: ~10 ms of CPU and ~3 MiB before
// the first answer). For a full media type — the only kind the proxy sets — mime-types reads
// nothing but an entry's `charset`, so the bundle gets the entries that have one (taken from
// the installed mime-db at build time) and answers exactly as before. What loses its table is
// lookup by file extension (static files, res.type('png')), which the proxy never uses.
export const mimeDbWithCharsets = {
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

// express requires these at load for features the proxy never turns on: body parsers (with
// iconv-lite's code-page tables, ~0.5 MB of source), the `extended` query parser (the app sets
// `query parser` to false), express.static and res.sendFile. Each becomes a stand-in with the
// same exported names that throws if it is ever called, so a future use fails loudly, not
// silently differently.
const UNUSED_EXPRESS_PARTS = {
  'body-parser': ['json', 'raw', 'text', 'urlencoded'],
  qs: ['parse', 'stringify'],
  'serve-static': [],
  send: [],
};
export const unusedExpressParts = {
  name: 'unused-express-parts',
  setup(build) {
    const names = Object.keys(UNUSED_EXPRESS_PARTS).map((name) => name.replace('-', '\\-'));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'unused-express-parts' }));
    build.onLoad({ filter: /.*/, namespace: 'unused-express-parts' }, ({ path }) => {
      const unavailable = (what) =>
        `() => { throw new Error(${JSON.stringify(`${what} is not part of container-image-proxy's bundle (scripts/esbuild-plugins.mjs)`)}); }`;
      const members = UNUSED_EXPRESS_PARTS[path].map((name) => `module.exports.${name} = ${unavailable(`${path}.${name}`)};`);
      return { contents: [`module.exports = ${unavailable(path)};`, ...members].join('\n'), loader: 'js' };
    });
  },
};

/**
 * Packages kept out of the main bundle, each in a side bundle of its own that is read and
 * compiled on first use (`loadSide(name)` in scripts/code-cache-loader.mjs): openpgp only for a
 * `signedBy` requirement or an OpenPGP decryption key, yaml only for registries.d, jose only for
 * an encrypted layer's JWE-wrapped key. openpgp and yaml were ~0.7 MB of the 2.7 MB
 * every start read and turned into a string.
 */
export const SIDE_PACKAGES = ['openpgp', 'yaml', 'jose'];
export const sidePackages = {
  name: 'side-packages',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${SIDE_PACKAGES.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'side-packages' }));
    build.onLoad({ filter: /.*/, namespace: 'side-packages' }, ({ path }) => ({
      contents: `module.exports = __cipLoadSide(${JSON.stringify(path)});`,
      loader: 'js',
    }));
  },
};
