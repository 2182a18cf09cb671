import { expect } from 'chai';
import { isProxyError } from '../../../src/domain/errors.js';
import { pullSourcesFor } from '../../../src/domain/registries/pull-sources.js';
import { dockerString, parseDockerReference, withDefaultTag } from '../../../src/domain/reference.js';
import { conf } from './support.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Sources as `name` or `name [insecure]` / `name [blocked]`, in try order. */
function sources(toml: string, input: string): string[] {
  return pullSourcesFor(conf(toml), withDefaultTag(parseDockerReference(input))).map(
    (s) => dockerString(s.reference) + (s.insecure ? ' [insecure]' : '') + (s.blocked ? ' [blocked]' : ''),
  );
}

const DIGEST_PAIR = `
[[registry]]
location = "reg.example.com"
[[registry.mirror]]
location = "d.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "t.local"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "a.local"
`;
const BY_DIGEST_ONLY = `
[[registry]]
location = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local/quay"
`;
const WILDCARD = `
[[registry]]
prefix = "*.example.com"
[[registry.mirror]]
location = "mirror.local/ex"
`;

describe('registries.conf pull sources: the order of mirrors and primary for a reference', () => {
  const cases: { name: string; toml: string; input: string; expected: string[] }[] = [
    {
      name: '1: the documentation example, prefix rewritten to each mirror and the location',
      toml: `
[[registry]]
prefix = "example.com/foo"
location = "internal-registry-for-example.com/bar"
[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
`,
      input: 'example.com/foo/image:latest',
      expected: [
        'example-mirror-0.local/mirror-for-foo/image:latest',
        'example-mirror-1.local/mirrors/foo/image:latest [insecure]',
        'internal-registry-for-example.com/bar/image:latest',
      ],
    },
    {
      name: '2: docker.io with a mirror, a short name normalized first',
      toml: '[[registry]]\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "mirror.gcr.io"\n',
      input: 'busybox',
      expected: ['mirror.gcr.io/library/busybox:latest', 'docker.io/library/busybox:latest'],
    },
    { name: '3: mirror-by-digest-only skips mirrors for a tag', toml: BY_DIGEST_ONLY, input: 'quay.io/ns/app:1.0', expected: ['quay.io/ns/app:1.0'] },
    {
      name: '3b: mirror-by-digest-only uses mirrors for a digest',
      toml: BY_DIGEST_ONLY,
      input: `quay.io/ns/app@${DIGEST}`,
      expected: [`m.local/quay/ns/app@${DIGEST}`, `quay.io/ns/app@${DIGEST}`],
    },
    {
      name: '4: pull-from-mirror for a tag',
      toml: DIGEST_PAIR,
      input: 'reg.example.com/x/y:v1',
      expected: ['t.local/x/y:v1', 'a.local/x/y:v1', 'reg.example.com/x/y:v1'],
    },
    {
      name: '4b: pull-from-mirror for a digest',
      toml: DIGEST_PAIR,
      input: `reg.example.com/x/y@${DIGEST}`,
      expected: [`d.local/x/y@${DIGEST}`, `a.local/x/y@${DIGEST}`, `reg.example.com/x/y@${DIGEST}`],
    },
    {
      name: '5: wildcard prefix without location',
      toml: WILDCARD,
      input: 'a.b.example.com/foo/bar:1',
      expected: ['mirror.local/ex/foo/bar:1', 'a.b.example.com/foo/bar:1'],
    },
    { name: '5b: the wildcard does not match the apex', toml: WILDCARD, input: 'example.com/foo/bar:1', expected: ['example.com/foo/bar:1'] },
    {
      name: "6: the longest prefix wins, the shorter entry's mirrors are ignored",
      toml: `
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "hub-mirror.local"
[[registry]]
prefix = "docker.io/library"
location = "lib-mirror.local/library"
`,
      input: 'docker.io/library/alpine:3.19',
      expected: ['lib-mirror.local/library/alpine:3.19'],
    },
    {
      name: '7: docker.io/alpine does not match alpine',
      toml: '[[registry]]\nprefix = "docker.io/alpine"\nlocation = "x.local/alpine"\n',
      input: 'alpine',
      expected: ['docker.io/library/alpine:latest'],
    },
    {
      name: '9: on a tie in length the wildcard (sorted first) wins',
      toml: `
[[registry]]
prefix = "a.example.com"
location = "a.example.com"
[[registry.mirror]]
location = "e.local"
[[registry]]
prefix = "*.example.com"
[[registry.mirror]]
location = "w.local"
`,
      input: 'a.example.com/foo:1',
      expected: ['w.local/foo:1', 'a.example.com/foo:1'],
    },
    {
      name: '10: the port quirk, a host prefix matches host:port and the rewrite keeps the port',
      toml: '[[registry]]\nlocation = "example.com"\n[[registry.mirror]]\nlocation = "m.local"\n',
      input: 'example.com:5000/foo:1',
      expected: ['m.local:5000/foo:1', 'example.com:5000/foo:1'],
    },
    {
      name: '11: a prefix naming a tag never matches',
      toml: '[[registry]]\nprefix = "example.com/foo:bar"\nlocation = "other.com/foo:bar"\n',
      input: 'example.com/foo:bar',
      expected: ['example.com/foo:bar'],
    },
    { name: 'no entry matches: the reference itself', toml: '', input: 'quay.io/a/b:1', expected: ['quay.io/a/b:1'] },
    {
      name: 'insecure is per source: an insecure primary with a secure mirror',
      toml: '[[registry]]\nlocation = "reg.local"\ninsecure = true\n[[registry.mirror]]\nlocation = "m.local"\n',
      input: 'reg.local/a:1',
      expected: ['m.local/a:1', 'reg.local/a:1 [insecure]'],
    },
    {
      name: 'blocked applies to the host contacted: a blocked primary with an unblocked mirror',
      toml: '[[registry]]\nlocation = "reg.local"\nblocked = true\n[[registry.mirror]]\nlocation = "m.local"\n',
      input: 'reg.local/a:1',
      expected: ['m.local/a:1', 'reg.local/a:1 [blocked]'],
    },
    {
      name: 'blocked applies to the host contacted: a mirror blocked by its own entry',
      toml: '[[registry]]\nlocation = "reg.local"\n[[registry.mirror]]\nlocation = "m.local"\n[[registry]]\nlocation = "m.local"\nblocked = true\n',
      input: 'reg.local/a:1',
      expected: ['m.local/a:1 [blocked]', 'reg.local/a:1'],
    },
    {
      name: 'a prefix on a path boundary only: example.com/foo does not match example.com/foobar',
      toml: '[[registry]]\nprefix = "example.com/foo"\nlocation = "x.local/foo"\n',
      input: 'example.com/foobar/a:1',
      expected: ['example.com/foobar/a:1'],
    },
  ];
  for (const { name, toml, input, expected } of cases) {
    it(name, () => expect(sources(toml, input)).to.deep.equal(expected));
  }

  it('8: a rewrite that is not canonical fails the whole pull, naming the file and the rewrite', () => {
    const config = conf('[[registry]]\nprefix = "example.com"\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "m.local"\n');
    let caught: unknown;
    try {
      pullSourcesFor(config, parseDockerReference('example.com/alpine:latest'));
    } catch (err) {
      caught = err;
    }
    expect(isProxyError(caught, 'config-invalid'), String(caught)).to.equal(true);
    expect((caught as Error).message)
      .to.include('/etc/containers/registries.conf')
      .and.include('docker.io/alpine:latest');
  });
});
