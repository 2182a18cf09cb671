import { expect } from 'chai';
import { isProxyError } from '../../../src/domain/errors.js';
import { dockerString } from '../../../src/domain/reference.js';
import { shortNameCandidates } from '../../../src/domain/registries/short-names.js';
import { conf } from './support.js';

const SEARCH = 'unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]\n';
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('short names (spec §A short names, §B6 row 12)', () => {
  const cases: { name: string; toml: string; input: string; expected: string[] }[] = [
    {
      name: '12: each search registry in order, docker.io gaining library/',
      toml: SEARCH,
      input: 'busybox',
      expected: ['registry.fedoraproject.org/busybox:latest', 'quay.io/busybox:latest', 'docker.io/library/busybox:latest'],
    },
    { name: '12 with an alias: the single aliased candidate', toml: `${SEARCH}[aliases]\nbusybox = "docker.io/library/busybox"\n`, input: 'busybox', expected: ['docker.io/library/busybox:latest'] },
    { name: 'the alias keeps the tag asked for', toml: '[aliases]\nbusybox = "docker.io/library/busybox"\n', input: 'busybox:1.36', expected: ['docker.io/library/busybox:1.36'] },
    { name: 'the alias keeps the digest asked for', toml: '[aliases]\nbusybox = "quay.io/b/busybox"\n', input: `busybox@${DIGEST}`, expected: [`quay.io/b/busybox@${DIGEST}`] },
    { name: 'a qualified name is not resolved', toml: SEARCH, input: 'quay.io/x/y', expected: ['quay.io/x/y:latest'] },
    { name: 'disabled mode returns all candidates', toml: `${SEARCH}short-name-mode = "disabled"\n`, input: 'ns/app:2', expected: ['registry.fedoraproject.org/ns/app:2', 'quay.io/ns/app:2', 'docker.io/ns/app:2'] },
    { name: 'enforcing with one candidate is fine', toml: 'unqualified-search-registries = ["quay.io"]\nshort-name-mode = "enforcing"\n', input: 'app', expected: ['quay.io/app:latest'] },
  ];
  for (const { name, toml, input, expected } of cases) {
    it(name, () => expect(shortNameCandidates(conf(toml), input).map(dockerString)).to.deep.equal(expected));
  }

  const refused: { name: string; toml: string; mentions: string }[] = [
    { name: 'no search registries and no alias', toml: '', mentions: 'no unqualified-search-registries' },
    { name: 'enforcing with several candidates and no terminal', toml: `${SEARCH}short-name-mode = "enforcing"\n`, mentions: 'ambiguous' },
  ];
  for (const { name, toml, mentions } of refused) {
    it(`refuses: ${name}`, () => {
      let caught: unknown;
      try {
        shortNameCandidates(conf(toml), 'busybox');
      } catch (err) {
        caught = err;
      }
      expect(isProxyError(caught, 'invalid-reference'), String(caught)).to.equal(true);
      expect((caught as Error).message).to.include(mentions);
    });
  }
});
