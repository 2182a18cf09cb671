import { expect } from 'chai';
import { isProxyError } from '../../src/domain/errors.js';
import { parsePolicy, type PolicyRequirement, requirementsFor, scopeFor } from '../../src/domain/policy.js';
import { policyIdentity, policyNamespaces } from '../../src/domain/policy-identity.js';
import { parseImageName } from '../../src/domain/reference.js';

/** A requirement that names its scope, so the table can see which scope was chosen. */
const marked = (name: string): object[] => [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: `/keys/${name}` }];
const markOf = (requirements: readonly PolicyRequirement[]): string => {
  const first = requirements[0];
  if (first?.type !== 'signedBy' || first.keys.kind !== 'paths') return first?.type ?? 'none';
  return first.keys.paths[0]!.slice('/keys/'.length);
};

describe('policy.json scope precedence: the most specific scope wins', () => {
  const policy = parsePolicy(
    JSON.stringify({
      default: marked('default'),
      transports: {
        docker: {
          'reg.example.com/ns/repo:1': marked('exact'),
          'reg.example.com/ns/repo': marked('repo'),
          'reg.example.com/ns': marked('namespace'),
          'reg.example.com': marked('host'),
          '*.example.com': marked('wildcard'),
          '': marked('transport'),
        },
        oci: { '': marked('oci') },
      },
    }),
    'policy.json',
  );
  const cases: [string, string, string][] = [
    ['the exact identity first', 'docker://reg.example.com/ns/repo:1', 'exact'],
    ['then the repository', 'docker://reg.example.com/ns/repo:2', 'repo'],
    ['then parent namespaces', 'docker://reg.example.com/ns/other:1', 'namespace'],
    ['then the host', 'docker://reg.example.com/x:1', 'host'],
    ['then *. wildcards', 'docker://other.example.com/x:1', 'wildcard'],
    ['a wildcard never matches its own domain', 'docker://example.com/x:1', 'transport'],
    ['then the transport "" scope', 'docker://quay.io/x:1', 'transport'],
    ['an oci: image uses its transport scope', 'oci:/tmp/layout:tag', 'oci'],
    ['transports without scopes fall back to default', 'dir:/tmp/image', 'default'],
  ];
  for (const [why, name, expected] of cases) {
    it(why, () => {
      const ref = parseImageName(name);
      expect(markOf(requirementsFor(policy, ref.transport, policyIdentity(ref), policyNamespaces(ref)))).to.equal(expected);
    });
  }
  it('names the scope it chose', () => {
    const ref = parseImageName('docker://reg.example.com/ns/other:1');
    expect(scopeFor(policy, ref.transport, policyIdentity(ref), policyNamespaces(ref)).scope).to.equal('docker:"reg.example.com/ns"');
    expect(scopeFor(policy, 'dir', '/x', []).scope).to.equal('default');
  });
});

describe('policy.json parsing', () => {
  it('reads every requirement form', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            a: [{ type: 'insecureAcceptAnything' }],
            b: [{ type: 'signedBy', keyType: 'GPGKeys', keyData: Buffer.from('key').toString('base64'), signedIdentity: { type: 'matchRepository' } }],
            c: [
              {
                type: 'sigstoreSigned',
                keyPaths: ['/k1', '/k2'],
                signedIdentity: { type: 'remapIdentity', prefix: 'quay.io', signedPrefix: 'example.com/mirror' },
              },
            ],
            d: [
              {
                type: 'sigstoreSigned',
                fulcio: { caPath: '/ca', oidcIssuer: 'https://issuer', subjectEmail: 'a@b' },
                rekorPublicKeyPath: '/rekor',
                signedIdentity: { type: 'matchRepoDigestOrExact' },
              },
            ],
            e: [{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: ['/k'], signedIdentity: { type: 'exactReference', dockerReference: 'busybox:1' } }],
          },
          dir: { '/abs/path': [{ type: 'reject' }] },
          oci: { '/abs/layout:tag': [{ type: 'reject' }] },
          'some-future-transport': { anything: [{ type: 'reject' }] },
        },
      }),
      'p.json',
    );
    const scopes = policy.transports['docker']!;
    expect(scopes['b']![0]).to.deep.equal({
      type: 'signedBy',
      keyType: 'GPGKeys',
      keys: { kind: 'data', data: [Buffer.from('key')] },
      signedIdentity: { type: 'matchRepository' },
    });
    const c = scopes['c']![0]!;
    expect(c.type === 'sigstoreSigned' && c.trust).to.deep.equal({ kind: 'keys', keys: { kind: 'paths', paths: ['/k1', '/k2'] } });
    const d = scopes['d']![0]!;
    expect(d.type === 'sigstoreSigned' && d.trust.kind).to.equal('fulcio');
    const e = scopes['e']![0]!;
    expect(e.type === 'signedBy' && e.signedIdentity).to.deep.equal({ type: 'exactReference', dockerReference: 'busybox:1' });
  });

  it('defaults signedBy to matchRepoDigestOrExact', () => {
    const policy = parsePolicy('{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}', 'p.json');
    const first = policy.default[0]!;
    expect(first.type === 'signedBy' && first.signedIdentity).to.deep.equal({ type: 'matchRepoDigestOrExact' });
  });

  const signedBy = (extra: object): string => JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', ...extra }] });
  const sigstore = (extra: object): string => JSON.stringify({ default: [{ type: 'sigstoreSigned', signedIdentity: { type: 'matchRepository' }, ...extra }] });
  const withScope = (transport: string, scope: string): string =>
    JSON.stringify({ default: [{ type: 'reject' }], transports: { [transport]: { [scope]: [{ type: 'reject' }] } } });
  const bad: [string, string, string][] = [
    ['invalid JSON', '{', 'invalid JSON'],
    ['a non-object', '[]', 'top level'],
    ['missing default', '{"transports":{}}', '"default" is missing'],
    ['unknown top-level key', '{"default":[{"type":"reject"}],"extra":1}', 'unknown key "extra"'],
    ['a duplicate top-level key', '{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}', 'duplicate key "default"'],
    ['a duplicate key in a requirement', '{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","keyPath":"/b"}]}', 'duplicate key "keyPath"'],
    ['a duplicate scope', '{"default":[{"type":"reject"}],"transports":{"docker":{"a":[{"type":"reject"}],"a":[{"type":"reject"}]}}}', 'duplicate key "a"'],
    ['empty default', '{"default":[]}', 'must not be empty'],
    ['requirement without type', '{"default":[{}]}', 'string "type"'],
    ['an unknown requirement type', '{"default":[{"type":"acceptIfSunny"}]}', 'unknown requirement type "acceptIfSunny"'],
    ['an unknown field on reject', '{"default":[{"type":"reject","why":"x"}]}', 'unknown key "why"'],
    ['empty scope list', '{"default":[{"type":"reject"}],"transports":{"docker":{"x":[]}}}', 'transports.docker["x"] must not be empty'],
    ['a transport that is not an object', '{"default":[{"type":"reject"}],"transports":{"docker":[]}}', 'transports.docker must be an object'],
    ['a relative dir: scope', withScope('dir', 'relative/path'), 'not an absolute path'],
    ['the dir: scope "/"', withScope('dir', '/'), 'use the "" scope'],
    ['a non-canonical oci: scope', withScope('oci', '/a/../b:tag'), 'not in canonical form'],
    ['a docker-archive: scope', withScope('docker-archive', '/a.tar'), 'only the "" scope'],
    [
      'a docker-daemon: image ID as a scope',
      withScope('docker-daemon', 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
      'is an image ID, which cannot be used as a namespace',
    ],
    ['signedBy without keyType', JSON.stringify({ default: [{ type: 'signedBy', keyPath: '/k' }] }), '"keyType" is missing'],
    ['signedBy with an unknown keyType', signedBy({ keyType: 'Magic', keyPath: '/k' }), 'unknown keyType "Magic"'],
    ['signedBy without keys', signedBy({}), 'one of "keyPath", "keyPaths" or "keyData"'],
    ['signedBy with two key sources', signedBy({ keyPath: '/k', keyData: 'AAAA' }), 'cannot be combined'],
    ['signedBy with empty keyPaths', signedBy({ keyPaths: [] }), 'non-empty array'],
    ['signedBy with invalid base64', signedBy({ keyData: 'not base64!' }), 'not valid base64'],
    ['signedBy with a numeric keyPath', signedBy({ keyPath: 5 }), 'keyPath must be a string'],
    ['an unknown signedIdentity', signedBy({ keyPath: '/k', signedIdentity: { type: 'matchVibes' } }), 'unknown signedIdentity type "matchVibes"'],
    [
      'exactReference without a tag',
      signedBy({ keyPath: '/k', signedIdentity: { type: 'exactReference', dockerReference: 'busybox' } }),
      'neither a tag nor a digest',
    ],
    [
      'exactReference that does not parse',
      signedBy({ keyPath: '/k', signedIdentity: { type: 'exactReference', dockerReference: 'UPPER/case:1' } }),
      'invalid image reference',
    ],
    ['exactRepository without its field', signedBy({ keyPath: '/k', signedIdentity: { type: 'exactRepository' } }), '"dockerRepository" is missing'],
    ['matchExact with a field', signedBy({ keyPath: '/k', signedIdentity: { type: 'matchExact', dockerReference: 'a:b' } }), 'unknown key "dockerReference"'],
    [
      'remapIdentity with an invalid prefix',
      signedBy({ keyPath: '/k', signedIdentity: { type: 'remapIdentity', prefix: 'quay.io/Bad', signedPrefix: 'quay.io' } }),
      'prefix "quay.io/Bad"',
    ],
    [
      'remapIdentity with a tagged prefix',
      signedBy({ keyPath: '/k', signedIdentity: { type: 'remapIdentity', prefix: 'quay.io', signedPrefix: 'quay.io/a:1' } }),
      'signedPrefix',
    ],
    ['sigstoreSigned without signedIdentity', JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: '/k' }] }), '"signedIdentity" is required'],
    ['sigstoreSigned without a trust root', sigstore({}), 'exactly one of'],
    ['sigstoreSigned with a key and fulcio', sigstore({ keyPath: '/k', fulcio: { caPath: '/ca', oidcIssuer: 'i', subjectEmail: 'e' } }), 'exactly one of'],
    ['sigstoreSigned with two key fields', sigstore({ keyPath: '/k', keyDatas: ['AAAA'] }), 'cannot be combined'],
    ['fulcio without Rekor', sigstore({ fulcio: { caPath: '/ca', oidcIssuer: 'i', subjectEmail: 'e' } }), 'needs a Rekor public key'],
    ['fulcio without an issuer', sigstore({ fulcio: { caPath: '/ca', subjectEmail: 'e' }, rekorPublicKeyPath: '/r' }), '"oidcIssuer"'],
    [
      'fulcio with an unknown field',
      sigstore({ fulcio: { caPath: '/ca', oidcIssuer: 'i', subjectEmail: 'e', x: 1 }, rekorPublicKeyPath: '/r' }),
      'unknown key "x"',
    ],
    ['two Rekor keys fields', sigstore({ keyPath: '/k', rekorPublicKeyPath: '/r', rekorPublicKeyData: 'AAAA' }), 'cannot be combined'],
    ['pki with Rekor', sigstore({ pki: { caRootsPath: '/r', subjectEmail: 'e' }, rekorPublicKeyPath: '/r' }), 'cannot be combined with a Rekor'],
    ['pki without a subject', sigstore({ pki: { caRootsPath: '/r' } }), '"subjectEmail" or "subjectHostname"'],
  ];
  for (const [why, text, message] of bad) {
    it(`rejects ${why}, naming the file`, () => {
      try {
        parsePolicy(text, '/etc/p.json');
        expect.fail('parsed');
      } catch (err) {
        expect(isProxyError(err, 'policy-invalid'), String(err)).to.equal(true);
        expect((err as Error).message)
          .to.contain('/etc/p.json')
          .and.to.contain(message);
      }
    });
  }
});
