/**
 * Properties over the configuration files the proxy reads: registries.conf (TOML, v1 and v2,
 * merged as drop-ins are), policy.json, auth.json (current and legacy) with every entry decoded,
 * and registries.d YAML. A broken file is a ProxyError naming it, never a crash.
 */
import fc from 'fast-check';
import { mergeRegistriesConf } from '../../src/domain/registries/merge.js';
import { pullSourcesFor } from '../../src/domain/registries/pull-sources.js';
import { parsePolicy } from '../../src/domain/policy.js';
import { parseDockerReference } from '../../src/domain/reference.js';
import { decodeAuthEntry, parseAuthFile } from '../../src/adapters/credentials/auth-file-format.js';
import { parseRegistriesConfText } from '../../src/adapters/registries-conf/registries-conf-files.js';
import { parseRegistriesFile } from '../../src/adapters/registries-d/registries-d-file.js';
import { fuzz, fuzzTimeout } from './fuzz-support.js';
import { hostileJsonText, mutatedText } from './generators.js';

const REGISTRIES_CONF = [
  [
    'unqualified-search-registries = ["quay.io", "docker.io"]',
    'short-name-mode = "enforcing"',
    'credential-helpers = ["containers-auth.json", "secretservice"]',
    '[[registry]]',
    'prefix = "example.com/foo"',
    'location = "internal.example.com/foo"',
    'insecure = false',
    'blocked = false',
    '[[registry.mirror]]',
    'location = "mirror.example.com:5000/foo"',
    'pull-from-mirror = "digest-only"',
    '[[registry]]',
    'prefix = "*.blocked.example"',
    'blocked = true',
    '[aliases]',
    '"app" = "quay.io/ns/app"',
  ].join('\n'),
  [
    '[registries.search]',
    "registries = ['quay.io']",
    '[registries.insecure]',
    "registries = ['localhost:5000']",
    '[registries.block]',
    "registries = ['evil.example']",
  ].join('\n'),
  'registries = [{ location = "x.example", mirror = [{ location = "y.example", insecure = true }] }]\n[aliases]\nfoo = "x.example/foo"\n',
];

const POLICIES: unknown[] = [
  {
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        'quay.io/ns': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/keys/a.gpg', signedIdentity: { type: 'matchRepoDigestOrExact' } }],
        '*.example.com': [{ type: 'insecureAcceptAnything' }],
      },
      oci: { '': [{ type: 'insecureAcceptAnything' }] },
    },
  },
  {
    default: [
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keyPaths: ['/a', '/b'],
        signedIdentity: { type: 'remapIdentity', prefix: 'quay.io', signedPrefix: 'mirror.example/q' },
      },
    ],
  },
  { default: [{ type: 'sigstoreSigned', keyData: 'LS0tLQ==', signedIdentity: { type: 'exactReference', dockerReference: 'quay.io/a/b:1' } }] },
  { default: [{ type: 'sigstoreSigned', fulcio: { caPath: '/ca.pem', oidcIssuer: 'https://issuer', subjectEmail: 'a@b' }, rekorPublicKeyPath: '/rekor.pem' }] },
  {
    default: [
      {
        type: 'sigstoreSigned',
        pki: { caRootsPath: '/roots.pem', subjectEmail: 'a@b' },
        signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/a/b' },
      },
    ],
  },
];

const AUTH_FILES: unknown[] = [
  {
    auths: {
      'quay.io': { auth: Buffer.from('user:pass').toString('base64') },
      'quay.io/ns/repo': { auth: Buffer.from('u:p:with:colons').toString('base64'), identitytoken: 'tok' },
      'https://index.docker.io/v1/': { auth: 'bm9jb2xvbg==' },
    },
    credHelpers: { 'gcr.io': 'gcloud' },
  },
  { 'https://index.docker.io/v1/': { auth: Buffer.from('legacy:pw').toString('base64'), email: 'x@y' } },
];

const REGISTRIES_D = [
  'default-docker:\n  lookaside: https://sigs.example/sigs\n  use-sigstore-attachments: true\ndocker:\n  quay.io/ns:\n    lookaside: file:///var/sigs\n    lookaside-staging: file:///staging\n  reg.example.com:\n    sigstore: https://old.example/s\n',
  'docker:\n  "a.example/b": { lookaside: "https://x/y" }\n  anchors.example: &anchor\n    lookaside: https://z\n  alias.example: *anchor\n',
];

describe('fuzz: configuration files', function () {
  this.timeout(fuzzTimeout());

  it('registries.conf: parsed, merged with the defaults, and asked for pull sources', () => {
    const reference = parseDockerReference('example.com/foo/bar:1');
    fuzz(fc.tuple(mutatedText(REGISTRIES_CONF), fc.constantFrom('main' as const, 'drop-in' as const)), ([text, role]) =>
      pullSourcesFor(mergeRegistriesConf([parseRegistriesConfText(text, '/etc/containers/registries.conf', role)]), reference),
    );
  });
  it('policy.json', () => {
    fuzz(hostileJsonText(POLICIES), (text) => parsePolicy(text, '/etc/containers/policy.json'));
  });
  it('auth.json, current and legacy, with every entry decoded', () => {
    fuzz(fc.tuple(hostileJsonText(AUTH_FILES), fc.boolean()), ([text, legacy]) => {
      const contents = parseAuthFile(text, legacy, '/run/containers/auth.json');
      for (const [key, entry] of contents.auths) decodeAuthEntry(entry, key, '/run/containers/auth.json');
    });
  });
  it('registries.d YAML', () => {
    // The yaml package takes tens of milliseconds on the deepest inputs: half as many cases.
    fuzz(mutatedText(REGISTRIES_D), (text) => parseRegistriesFile(text, '/etc/containers/registries.d/a.yaml'), 1 / 2);
  });
});
