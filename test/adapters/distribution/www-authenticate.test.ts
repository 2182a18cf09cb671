import { expect } from 'chai';
import { parseChallenges, usableChallenge } from '../../../src/adapters/distribution/www-authenticate.js';

describe('distribution: WWW-Authenticate parsing', () => {
  const cases: readonly [string, string | string[], { scheme: string; params: Record<string, string> }[]][] = [
    [
      'a bearer challenge',
      'Bearer realm="https://auth.example/token",service="registry.example"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example' } }],
    ],
    ['lower-cases scheme and keys, keeps values', 'BASIC Realm="My Realm"', [{ scheme: 'basic', params: { realm: 'My Realm' } }]],
    ['token values and spaces around =', 'Bearer realm = fake-realm , service=svc', [{ scheme: 'bearer', params: { realm: 'fake-realm', service: 'svc' } }]],
    ['backslash escapes in quotes', 'Bearer realm="a\\"b\\\\c",scope="x"', [{ scheme: 'bearer', params: { realm: 'a"b\\c', scope: 'x' } }]],
    ['a comma inside quotes', 'Bearer scope="repository:a:pull,push"', [{ scheme: 'bearer', params: { scope: 'repository:a:pull,push' } }]],
    [
      'several header lines',
      ['Negotiate', 'Basic realm="r"'],
      [
        { scheme: 'negotiate', params: {} },
        { scheme: 'basic', params: { realm: 'r' } },
      ],
    ],
    [
      'several challenges on one line',
      'Basic realm="r", Bearer realm="t",service="s"',
      [
        { scheme: 'basic', params: { realm: 'r' } },
        { scheme: 'bearer', params: { realm: 't', service: 's' } },
      ],
    ],
    [
      'an insufficient_scope error',
      'Bearer realm="t",error="insufficient_scope",scope="repository:b:pull"',
      [{ scheme: 'bearer', params: { realm: 't', error: 'insufficient_scope', scope: 'repository:b:pull' } }],
    ],
    ['nothing', [], []],
  ];
  for (const [what, header, expected] of cases) {
    it(`parses ${what}`, () => {
      expect(parseChallenges(header)).to.deep.equal(expected);
    });
  }

  const choices: readonly [string, string[], string | undefined][] = [
    ['the first of basic and bearer', ['Negotiate', 'Bearer realm="t"', 'Basic realm="r"'], 'bearer'],
    ['basic when it comes first', ['Basic realm="r"', 'Bearer realm="t"'], 'basic'],
    ['none when only other schemes are offered', ['Negotiate', 'Digest realm="x"'], undefined],
  ];
  for (const [what, header, scheme] of choices) {
    it(`uses ${what}`, () => {
      expect(usableChallenge(parseChallenges(header))?.scheme).to.equal(scheme);
    });
  }
});
