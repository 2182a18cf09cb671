import { expect } from 'chai';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { policyIdentity, policyNamespaces } from '../../src/domain/policy-identity.js';
import { formatImageName, parseImageName, type StorageReference } from '../../src/domain/reference.js';
import { storageScopeProblem } from '../../src/domain/storage-reference.js';

const ID = '5b0d3e5a1f86a61bbdcc3d7112cd4ad2bf246c14f7815651ce02b1c77f985ee1';
const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;

function parse(value: string): StorageReference {
  const ref = parseImageName(value);
  if (ref.transport !== 'containers-storage') throw new Error(`parsed as ${ref.transport}`);
  return ref;
}

describe('containers-storage references (storage_transport.go ParseReference)', () => {
  const valid: ReadonlyArray<readonly [string, Omit<StorageReference, 'transport'>]> = [
    ['busybox', { named: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' } }],
    ['localhost/app:1', { named: { domain: 'localhost', path: 'app', tag: '1' } }],
    [`quay.io/x/y:2@${DIGEST}`, { named: { domain: 'quay.io', path: 'x/y', tag: '2', digest: DIGEST } }],
    [`quay.io/x/y@${DIGEST}`, { named: { domain: 'quay.io', path: 'x/y', digest: DIGEST } }],
    [`localhost/app:1@${ID}`, { named: { domain: 'localhost', path: 'app', tag: '1' }, id: ID }],
    ['localhost/app:1@5b0d3e', { named: { domain: 'localhost', path: 'app', tag: '1' }, idPrefix: '5b0d3e' }],
    [ID, { id: ID }],
    [`@${ID}`, { id: ID }],
    ['5b0d3e5a', { idPrefix: '5b0d3e5a', named: { domain: 'docker.io', path: 'library/5b0d3e5a', tag: 'latest' }, prefixMayBeName: true }],
    [
      '[overlay@/var/lib/containers/storage+/run/containers/storage]busybox',
      {
        store: { driver: 'overlay', graphRoot: '/var/lib/containers/storage', runRoot: '/run/containers/storage' },
        named: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
      },
    ],
    [
      '[vfs@/s:vfs.imagestore=/ro,x=y]a:1',
      { store: { driver: 'vfs', graphRoot: '/s', options: ['vfs.imagestore=/ro', 'x=y'] }, named: { domain: 'docker.io', path: 'library/a', tag: '1' } },
    ],
    ['[/srv/store]a:1', { store: { graphRoot: '/srv/store' }, named: { domain: 'docker.io', path: 'library/a', tag: '1' } }],
  ];
  for (const [input, expected] of valid) {
    it(`parses ${input}`, () => {
      expect(parse(`containers-storage:${input}`)).to.deep.equal({ transport: 'containers-storage', ...expected });
    });
  }

  for (const input of [`quay.io/x/y:2@${DIGEST}`, `localhost/app:1@${ID}`, '5b0d3e5a', '[vfs@/s+/r:a=b]localhost/app:1@5b0d3e', `@${ID}`]) {
    it(`formats ${input} back into what parses the same`, () => {
      const ref = parse(`containers-storage:${input}`);
      expect(parse(formatImageName(ref))).to.deep.equal(ref);
    });
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ['', 'names no image'],
    ['[overlay@/s', 'closing'],
    ['[]busybox', 'graph root'],
    ['[@/s]busybox', 'driver'],
    ['[overlay@]busybox', 'graph root'],
    ['[overlay@relative]busybox', 'absolute'],
    ['[overlay@/s+relative]busybox', 'absolute'],
    ['[overlay@/s]', 'names no image'],
    ['busybox@', 'empty'],
    ['busybox@xy', 'does not look like an image ID or digest'],
    ['Busybox', 'lowercase'],
  ];
  for (const [input, problem] of invalid) {
    it(`refuses ${JSON.stringify(input)} (${problem})`, () => {
      try {
        parseImageName(`containers-storage:${input}`);
        expect.fail('parsed');
      } catch (err) {
        expect(isProxyError(err, 'invalid-reference'), String(err)).to.equal(true);
        expect((err as Error).message).to.include(problem);
      }
    });
  }

  it('forms policy scopes as containers/image does: identity, then the name without the ID, its parents, the store, the graph root', () => {
    const ref: StorageReference = { ...parse(`containers-storage:quay.io/ns/app:1@${ID}`), store: { driver: 'overlay', graphRoot: '/s', runRoot: '/r' } };
    expect(policyIdentity(ref)).to.equal(`[overlay@/s]quay.io/ns/app:1@${ID}`);
    expect(policyNamespaces(ref)).to.deep.equal([
      '[overlay@/s]quay.io/ns/app:1',
      '[overlay@/s]quay.io/ns/app',
      '[overlay@/s]quay.io/ns',
      '[overlay@/s]quay.io',
      '[overlay@/s]',
      '[/s]',
    ]);
    const tagged: StorageReference = { ...parse(`containers-storage:quay.io/app:1@${DIGEST}`), store: { driver: 'vfs', graphRoot: '/s' } };
    expect(policyNamespaces(tagged)).to.deep.equal(['[vfs@/s]quay.io/app:1', '[vfs@/s]quay.io/app', '[vfs@/s]quay.io', '[vfs@/s]', '[/s]']);
  });

  it('validates policy.json scopes as ValidatePolicyConfigurationScope does', () => {
    for (const good of ['[overlay@/s]', '[/s]', '[overlay@/s]quay.io/app', `[overlay@/s]a:1@${ID}`, `[overlay@/s]a@${DIGEST}@${ID}`])
      expect(storageScopeProblem(good), good).to.equal(undefined);
    for (const bad of ['quay.io/app', '[overlay@relative]x', '[@/s]', '[overlay@/s]a@xyz']) expect(storageScopeProblem(bad), bad).to.be.a('string');
  });
});
