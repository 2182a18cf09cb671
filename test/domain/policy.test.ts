import { expect } from 'chai';
import { isProxyError } from '../../src/domain/errors.js';
import { parsePolicy, requirementsFor } from '../../src/domain/policy.js';

const reject = [{ type: 'reject' }];
const accept = [{ type: 'insecureAcceptAnything' }];

describe('policy.json scopes', () => {
  const policy = parsePolicy(
    JSON.stringify({
      default: reject,
      transports: {
        docker: {
          'reg.example.com/ns/repo:1': [{ type: 'exact' }],
          'reg.example.com/ns/repo': [{ type: 'repo' }],
          'reg.example.com/ns': [{ type: 'namespace' }],
          'reg.example.com': [{ type: 'host' }],
          '*.example.com': [{ type: 'wildcard' }],
          '': [{ type: 'transport-default' }],
        },
        oci: { '': accept },
      },
    }),
    'policy.json',
  );
  const namespaces = ['reg.example.com/ns/repo', 'reg.example.com/ns', 'reg.example.com', '*.example.com', '*.com'];
  const cases: [string, string, readonly string[], string][] = [
    ['exact identity first', 'reg.example.com/ns/repo:1', namespaces, 'exact'],
    ['then the repository', 'reg.example.com/ns/repo:2', namespaces, 'repo'],
    ['then parent namespaces', 'reg.example.com/ns/other:1', namespaces.slice(1), 'namespace'],
    ['then the host', 'reg.example.com/x:1', namespaces.slice(2), 'host'],
    ['then *. wildcards', 'other.example.com/x:1', ['other.example.com/x', 'other.example.com', '*.example.com', '*.com'], 'wildcard'],
    ['then the transport default', 'quay.io/x:1', ['quay.io/x', 'quay.io', '*.io'], 'transport-default'],
  ];
  for (const [why, identity, ns, expected] of cases) {
    it(why, () => expect(requirementsFor(policy, 'docker', identity, ns)[0]!.type).to.equal(expected));
  }
  it('falls back to the global default for transports without scopes', () => {
    expect(requirementsFor(policy, 'dir', '/x', ['/'])).to.deep.equal(reject);
  });
  it('uses a transport "" scope', () => {
    expect(requirementsFor(policy, 'oci', '/x:latest', ['/x', '/'])).to.deep.equal(accept);
  });
});

describe('policy.json parsing', () => {
  const bad: [string, string, string][] = [
    ['invalid JSON', '{', 'invalid JSON'],
    ['a non-object', '[]', 'top level'],
    ['missing default', '{"transports":{}}', '"default" is missing'],
    ['unknown top-level key', '{"default":[{"type":"reject"}],"extra":1}', 'unknown key "extra"'],
    ['empty default', '{"default":[]}', 'must not be empty'],
    ['requirement without type', '{"default":[{}]}', 'string "type"'],
    ['empty scope', '{"default":[{"type":"reject"}],"transports":{"docker":{"x":[]}}}', 'transports.docker["x"] must not be empty'],
  ];
  for (const [why, text, message] of bad) {
    it(`rejects ${why}, naming the file`, () => {
      try {
        parsePolicy(text, '/etc/p.json');
        expect.fail('parsed');
      } catch (err) {
        expect(isProxyError(err, 'policy-invalid')).to.equal(true);
        expect((err as Error).message).to.contain('/etc/p.json').and.to.contain(message);
      }
    });
  }
});
