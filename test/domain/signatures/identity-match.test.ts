import { expect } from 'chai';
import { type SignedIdentity } from '../../../src/domain/policy.js';
import { parseDockerReference } from '../../../src/domain/reference.js';
import { identityMismatch } from '../../../src/domain/signatures/identity-match.js';

const D = `sha256:${'a'.repeat(64)}`;
const exact: SignedIdentity = { type: 'matchExact' };
const repoDigestOrExact: SignedIdentity = { type: 'matchRepoDigestOrExact' };
const repository: SignedIdentity = { type: 'matchRepository' };
const exactReference: SignedIdentity = { type: 'exactReference', dockerReference: 'quay.io/ns/app:1' };
const exactRepository: SignedIdentity = { type: 'exactRepository', dockerRepository: 'quay.io/ns/app' };
const remap: SignedIdentity = { type: 'remapIdentity', prefix: 'mirror.example.com/quay', signedPrefix: 'quay.io' };

/** [rule, intended (logical, tag defaulted), identity in the signature, accepted] */
const CASES: [SignedIdentity, string | undefined, string, boolean][] = [
  [exact, 'quay.io/ns/app:1', 'quay.io/ns/app:1', true],
  [exact, 'busybox:latest', 'docker.io/library/busybox:latest', true],
  [exact, 'quay.io/ns/app:1', 'quay.io/ns/app:2', false],
  [exact, 'quay.io/ns/app:1', 'quay.io/ns/app', false],
  [exact, `quay.io/ns/app@${D}`, `quay.io/ns/app:1`, false],
  [repoDigestOrExact, 'quay.io/ns/app:1', 'quay.io/ns/app:1', true],
  [repoDigestOrExact, 'quay.io/ns/app:1', 'quay.io/ns/app:2', false],
  [repoDigestOrExact, `quay.io/ns/app@${D}`, 'quay.io/ns/app:1', true],
  [repoDigestOrExact, `quay.io/ns/app@${D}`, 'quay.io/ns/other:1', false],
  [repoDigestOrExact, 'quay.io/ns/app:1', 'quay.io/ns/app', false],
  [repository, 'quay.io/ns/app:1', 'quay.io/ns/app', true],
  [repository, 'quay.io/ns/app:1', 'quay.io/ns/app:9', true],
  [repository, 'quay.io/ns/app:1', 'quay.io/ns/app2', false],
  [exactReference, 'anything.example/x:1', 'quay.io/ns/app:1', true],
  [exactReference, 'quay.io/ns/app:1', 'quay.io/ns/app:2', false],
  [exactReference, undefined, 'quay.io/ns/app:1', true],
  [exactRepository, 'anything.example/x:1', 'quay.io/ns/app:5', true],
  [exactRepository, undefined, 'quay.io/ns/app', true],
  [exactRepository, 'quay.io/ns/app:1', 'quay.io/other/app:1', false],
  [remap, 'mirror.example.com/quay/ns/app:1', 'quay.io/ns/app:1', true],
  [remap, 'mirror.example.com/quay/ns/app:1', 'mirror.example.com/quay/ns/app:1', false],
  [remap, 'mirror.example.com/quayx/app:1', 'mirror.example.com/quayx/app:1', true],
  [remap, 'other.example.com/ns/app:1', 'other.example.com/ns/app:1', true],
  [repository, undefined, 'quay.io/ns/app', false],
  [exact, 'quay.io/ns/app:1', 'Not A Reference', false],
];

describe('signedIdentity matching (policy_reference_match)', () => {
  for (const [rule, intended, signed, accepted] of CASES) {
    it(`${rule.type}: ${intended ?? '(no docker identity)'} vs signature ${signed} → ${accepted ? 'accepted' : 'rejected'}`, () => {
      const result = identityMismatch(rule, intended === undefined ? undefined : parseDockerReference(intended), signed);
      if (accepted) expect(result).to.equal(undefined);
      else expect(result).to.be.a('string').and.not.equal('');
    });
  }
  it('a cosign repository-only identity is accepted only by matchRepository and exactRepository', () => {
    const intended = parseDockerReference('quay.io/ns/app:1');
    const verdicts = [exact, repoDigestOrExact, repository, exactRepository].map((rule) => identityMismatch(rule, intended, 'quay.io/ns/app') === undefined);
    expect(verdicts).to.deep.equal([false, false, true, true]);
  });
});
