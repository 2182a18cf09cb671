import { createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import { ProxyError } from '../../../src/domain/errors.js';
import { canonicalJson, verifyRekorSet } from '../../../src/adapters/sigstore/rekor-set.js';
import { makeSet, makeSetOverEntryText, makeTestRekor } from './test-sigstore.js';

const DEEP = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

describe('Rekor SET', () => {
  describe('canonicalJson (RFC 8785)', () => {
    const CASES: { input: string; canonical: string }[] = [
      { input: '{"b": 1, "a": {"d": [3, 2], "c": null}}', canonical: '{"a":{"c":null,"d":[3,2]},"b":1}' },
      { input: '{"logIndex": 1, "logID": "x"}', canonical: '{"logID":"x","logIndex":1}' },
      { input: '{"n": 1.0, "e": 1e21, "s": "\\u00e9\\n", "t": true}', canonical: '{"e":1e+21,"n":1,"s":"é\\n","t":true}' },
      // UTF-16 order, not code-point order: U+FB01 sorts after the surrogate pair of U+1F600.
      { input: '{"\\ufb01": 1, "\\ud83d\\ude00": 2, "\\u20ac": 3}', canonical: '{"€":3,"😀":2,"ﬁ":1}' },
    ];
    for (const { input, canonical } of CASES) {
      it(input, () => expect(canonicalJson(JSON.parse(input))).to.equal(canonical));
    }
  });

  describe('verifyRekorSet', () => {
    const rekor = makeTestRekor();
    const key = createPublicKey(rekor.publicPem);
    const keyPem = makeTestRekor().publicPem;
    const payload = Buffer.from('payload');
    const signature = Buffer.from('signature');
    const subject = (bundle: string) => ({ bundle, keyOrCertificatePem: keyPem, base64Signature: signature.toString('base64'), payload });

    it('returns the entry of a SET that logs this signature', () => {
      const entry = verifyRekorSet([key], subject(makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload, integratedTime: 1_700_000_000 })));
      expect(entry).to.deep.equal({
        integratedTime: new Date(1_700_000_000_000),
        logIndex: 1234,
        logID: 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
      });
    });

    const good = JSON.parse(makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload })) as Record<string, unknown>;
    const REJECTED: { name: string; bundle: string; reason: RegExp }[] = [
      { name: 'not JSON', bundle: '{', reason: /invalid JSON/ },
      { name: 'duplicate keys', bundle: `{"Payload":{},"Payload":{},"SignedEntryTimestamp":""}`, reason: /duplicate key "Payload"/ },
      { name: 'a missing Payload', bundle: JSON.stringify({ SignedEntryTimestamp: good['SignedEntryTimestamp'] }), reason: /"Payload" is missing/ },
      {
        name: 'a SignedEntryTimestamp that is not base64',
        bundle: JSON.stringify({ ...good, SignedEntryTimestamp: '%%' }),
        reason: /SignedEntryTimestamp is not base64/,
      },
      { name: 'an empty SignedEntryTimestamp', bundle: JSON.stringify({ ...good, SignedEntryTimestamp: '' }), reason: /verifies with none/ },
      {
        name: 'an unsupported public key in the entry',
        bundle: makeSet(rekor, { keyOrCertificatePem: `${keyPem}\ntrailing`, signature, payload }),
        reason: /logged public key is not a single PEM block/,
      },
      {
        name: 'a logged hash of another algorithm',
        bundle: makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload, entry: (entry) => withHash(entry, { algorithm: 'sha512', value: '00' }) }),
        reason: /unexpected data.hash.algorithm "sha512"/,
      },
      {
        name: 'an entry without spec',
        bundle: makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload, entry: ({ spec: _spec, ...rest }) => rest }),
        reason: /has no "spec"/,
      },
      {
        name: 'a fractional integratedTime',
        bundle: makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload, integratedTime: 1.5 }),
        reason: /integratedTime is not an integer/,
      },
      // Found by the property tests: canonicalizing a deep Payload, and quoting a deep kind, overflowed the stack.
      { name: 'a Payload nested 100000 levels deep', bundle: `{"SignedEntryTimestamp":"","Payload":${DEEP}}`, reason: /verifies with none/ },
      {
        name: 'a signed entry whose kind is nested 100000 levels deep',
        bundle: makeSetOverEntryText(rekor, `{"kind":${DEEP}}`),
        reason: /entry kind \[{100}…/,
      },
    ];
    for (const testCase of REJECTED) {
      it(`rejects ${testCase.name}`, () => {
        expect(() => verifyRekorSet([key], subject(testCase.bundle)))
          .to.throw(ProxyError, testCase.reason)
          .with.property('code', 'policy-rejected');
      });
    }
  });
});

function withHash(entry: Record<string, unknown>, hash: object): Record<string, unknown> {
  const spec = entry['spec'] as Record<string, unknown>;
  return { ...entry, spec: { ...spec, data: { hash } } };
}
