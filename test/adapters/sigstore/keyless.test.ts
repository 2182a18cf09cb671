import { createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { ProxyError } from '../../../src/domain/errors.js';
import { SIGSTORE_PAYLOAD_MEDIA_TYPE } from '../../../src/domain/signatures/signature.js';
import { type FulcioRoot, parseFulcioCas } from '../../../src/adapters/sigstore/fulcio.js';
import { parseSigstorePublicKey } from '../../../src/adapters/sigstore/public-keys.js';
import { parseRekorPublicKey } from '../../../src/adapters/sigstore/rekor-set.js';
import { type SigstoreSignature, verifySigstoreWithFulcio, verifySigstoreWithKeys } from '../../../src/adapters/sigstore/sigstore-verifier.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  EMAIL,
  ISSUER,
  keylessAnnotations,
  type Leaf,
  type LeafOptions,
  makeSet,
  makeTestFulcio,
  makeTestRekor,
  SIGNATURE_ANNOTATION,
  type TestFulcio,
} from './test-sigstore.js';

const PAYLOAD = Buffer.from(
  '{"critical":{"identity":{"docker-reference":"example.com/app"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":null}',
);
const NOW = () => Math.floor(Date.now() / 1000);
const DAY = 24 * 3600;

function signatureWith(annotations: Record<string, string>, payload: Uint8Array = PAYLOAD): SigstoreSignature {
  return { format: 'sigstore', mimeType: SIGSTORE_PAYLOAD_MEDIA_TYPE, payload, annotations };
}

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ProxyError);
    expect((err as ProxyError).code).to.equal('policy-rejected');
    return (err as ProxyError).message;
  }
  expect.fail('expected a policy-rejected error');
}

describe('sigstore keyless: Fulcio certificate and Rekor SET, offline', function () {
  this.timeout(30_000);
  let dir: string;
  let fulcio: TestFulcio;
  let root: FulcioRoot;
  const rekor = makeTestRekor();
  const otherRekor = makeTestRekor();
  const rekorKeys = [parseRekorPublicKey(Buffer.from(rekor.publicPem), 'rekor.pub')];
  const leaves = new Map<string, Leaf>();
  const leaf = async (name: string, options: LeafOptions = { issuerV1: ISSUER }): Promise<Leaf> => {
    if (!leaves.has(name)) leaves.set(name, await fulcio.leaf(options));
    return leaves.get(name)!;
  };

  before(async () => {
    dir = makeTempDir('sigstore-keyless');
    fulcio = await makeTestFulcio(dir);
    root = { cas: parseFulcioCas(Buffer.from(fulcio.caPem), 'ca.pem'), oidcIssuer: ISSUER, subjectEmail: EMAIL };
  });
  after(() => removeTempDir(dir));

  describe('accepted', () => {
    const CASES: { name: string; make: () => Promise<SigstoreSignature>; issuer?: string }[] = [
      { name: 'issuer in the v1 extension', make: async () => signatureWith(keylessAnnotations(rekor, await leaf('v1'), PAYLOAD)) },
      { name: 'issuer in the v2 (DER) extension', make: async () => signatureWith(keylessAnnotations(rekor, await leaf('v2', { issuerV2: ISSUER }), PAYLOAD)) },
      {
        name: 'both issuer extensions agreeing',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('both', { issuerV1: ISSUER, issuerV2: ISSUER }), PAYLOAD)),
      },
      {
        name: 'leaf from an intermediate given in the chain annotation (its last entry, the root, ignored)',
        make: async () =>
          signatureWith(
            keylessAnnotations(rekor, await leaf('via-intermediate', { issuerV1: ISSUER, issuedBy: 'intermediate' }), PAYLOAD, {
              chainPem: fulcio.intermediatePem + fulcio.caPem,
            }),
          ),
      },
    ];
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const verified = verifySigstoreWithFulcio(await testCase.make(), root, rekorKeys);
        expect(verified.certificateIdentity).to.equal(EMAIL);
        expect(verified.certificateIssuer).to.equal(ISSUER);
        expect(Buffer.from(verified.payload).equals(PAYLOAD)).to.equal(true);
      });
    }

    it('with several Rekor keys, any one that signed the SET', async () => {
      const keys = [parseRekorPublicKey(Buffer.from(otherRekor.publicPem), 'other.pub'), ...rekorKeys];
      expect(verifySigstoreWithFulcio(signatureWith(keylessAnnotations(rekor, await leaf('v1'), PAYLOAD)), root, keys).certificateIdentity).to.equal(EMAIL);
    });
  });

  describe('rejected', () => {
    interface Case {
      readonly name: string;
      readonly make: () => Promise<SigstoreSignature>;
      readonly root?: () => FulcioRoot;
      readonly reason: RegExp;
    }
    const CASES: Case[] = [
      {
        name: 'a CA the policy does not trust',
        root: () => ({ ...root, cas: parseFulcioCas(Buffer.from(fulcio.otherCaPem), 'other.pem') }),
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('v1'), PAYLOAD)),
        reason: /does not chain to the configured CA/,
      },
      {
        name: 'a leaf issued by another CA',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('other-ca', { issuerV1: ISSUER, issuedBy: 'other-ca' }), PAYLOAD)),
        reason: /does not chain/,
      },
      {
        name: 'an intermediate that is not presented',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('via-intermediate', { issuerV1: ISSUER, issuedBy: 'intermediate' }), PAYLOAD)),
        reason: /does not chain/,
      },
      {
        name: 'another OIDC issuer',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('evil-issuer', { issuerV1: 'https://evil.example.com' }), PAYLOAD)),
        reason: /unexpected Fulcio OIDC issuer "https:\/\/evil.example.com"/,
      },
      {
        name: 'v1 and v2 issuers disagreeing',
        make: async () =>
          signatureWith(keylessAnnotations(rekor, await leaf('inconsistent', { issuerV1: ISSUER, issuerV2: 'https://evil.example.com' }), PAYLOAD)),
        reason: /inconsistent OIDC issuer/,
      },
      {
        name: 'no issuer extension',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('no-issuer', {}), PAYLOAD)),
        reason: /no OIDC issuer extension/,
      },
      {
        name: 'another email',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('mallory', { issuerV1: ISSUER, email: 'mallory@example.com' }), PAYLOAD)),
        reason: /required email "signer@example.com" not found.*mallory@example.com/,
      },
      {
        name: 'a leaf not for code signing',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('server-auth', { issuerV1: ISSUER, extendedKeyUsage: 'serverAuth' }), PAYLOAD)),
        reason: /does not allow code signing/,
      },
      {
        name: 'a certificate expired at integratedTime',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('v1'), PAYLOAD, { integratedTime: NOW() + 5 * DAY })),
        reason: /is valid from .* to /,
      },
      {
        name: 'a certificate not yet valid at integratedTime',
        make: async () => signatureWith(keylessAnnotations(rekor, await leaf('v1'), PAYLOAD, { integratedTime: NOW() - DAY })),
        reason: /is valid from .* to /,
      },
      {
        name: 'a SET signed by another Rekor key',
        make: async () => signatureWith(keylessAnnotations(otherRekor, await leaf('v1'), PAYLOAD)),
        reason: /Rekor SET: the SET's signature verifies with none/,
      },
      {
        name: 'a SET whose payload was edited after signing',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          const set = JSON.parse(annotations[BUNDLE_ANNOTATION]!) as { Payload: { logIndex: number } };
          set.Payload.logIndex += 1;
          return signatureWith({ ...annotations, [BUNDLE_ANNOTATION]: JSON.stringify(set) });
        },
        reason: /verifies with none/,
      },
      {
        name: 'a SET logging another payload',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith({
            ...annotations,
            [BUNDLE_ANNOTATION]: makeSet(rekor, {
              keyOrCertificatePem: annotations[CERTIFICATE_ANNOTATION]!,
              signature: Buffer.from(annotations[SIGNATURE_ANNOTATION]!, 'base64'),
              payload: Buffer.from('other'),
            }),
          });
        },
        reason: /logged payload hash is not this payload's/,
      },
      {
        name: 'a SET logging another signature',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith({
            ...annotations,
            [BUNDLE_ANNOTATION]: makeSet(rekor, {
              keyOrCertificatePem: annotations[CERTIFICATE_ANNOTATION]!,
              signature: Buffer.from('other'),
              payload: PAYLOAD,
            }),
          });
        },
        reason: /logged signature is not this signature/,
      },
      {
        name: 'a SET logging another certificate',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith({
            ...annotations,
            [BUNDLE_ANNOTATION]: makeSet(rekor, {
              keyOrCertificatePem: (await leaf('v2', { issuerV2: ISSUER })).certificatePem,
              signature: Buffer.from(annotations[SIGNATURE_ANNOTATION]!, 'base64'),
              payload: PAYLOAD,
            }),
          });
        },
        reason: /logged public key or certificate is not the one/,
      },
      {
        name: 'a SET of another entry kind',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          const set = makeSet(rekor, {
            keyOrCertificatePem: annotations[CERTIFICATE_ANNOTATION]!,
            signature: Buffer.from(annotations[SIGNATURE_ANNOTATION]!, 'base64'),
            payload: PAYLOAD,
            entry: (entry) => ({ ...entry, kind: 'intoto' }),
          });
          return signatureWith({ ...annotations, [BUNDLE_ANNOTATION]: set });
        },
        reason: /entry kind "intoto" is not supported/,
      },
      {
        name: 'a hashedrekord of another version',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          const set = makeSet(rekor, {
            keyOrCertificatePem: annotations[CERTIFICATE_ANNOTATION]!,
            signature: Buffer.from(annotations[SIGNATURE_ANNOTATION]!, 'base64'),
            payload: PAYLOAD,
            entry: (entry) => ({ ...entry, apiVersion: '0.0.2' }),
          });
          return signatureWith({ ...annotations, [BUNDLE_ANNOTATION]: set });
        },
        reason: /hashedrekord version "0.0.2"/,
      },
      {
        name: 'an unknown field in the bundle',
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith({ ...annotations, [BUNDLE_ANNOTATION]: JSON.stringify({ ...JSON.parse(annotations[BUNDLE_ANNOTATION]!), Extra: 1 }) });
        },
        reason: /unknown key "Extra"/,
      },
      {
        name: "a payload signed by another key than the certificate's",
        make: async () => {
          const annotations = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          const forged = sign('sha256', PAYLOAD, { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'der' });
          const bundle = makeSet(rekor, { keyOrCertificatePem: annotations[CERTIFICATE_ANNOTATION]!, signature: forged, payload: PAYLOAD });
          return signatureWith({ ...annotations, [SIGNATURE_ANNOTATION]: forged.toString('base64'), [BUNDLE_ANNOTATION]: bundle });
        },
        reason: /payload does not verify with the key of the Fulcio certificate/,
      },
      {
        name: 'no bundle',
        make: async () => {
          const { [BUNDLE_ANNOTATION]: _bundle, ...rest } = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith(rest);
        },
        reason: /lacks the dev.sigstore.cosign\/bundle annotation/,
      },
      {
        name: 'no certificate',
        make: async () => {
          const { [CERTIFICATE_ANNOTATION]: _certificate, ...rest } = keylessAnnotations(rekor, await leaf('v1'), PAYLOAD);
          return signatureWith(rest);
        },
        reason: /lacks the dev.sigstore.cosign\/certificate annotation/,
      },
    ];
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const signature = await testCase.make();
        expect(rejection(() => verifySigstoreWithFulcio(signature, testCase.root?.() ?? root, rekorKeys))).to.match(testCase.reason);
      });
    }
  });

  describe('public key with a Rekor key', () => {
    const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (key: typeof signer) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const trusted = [parseSigstorePublicKey(Buffer.from(pem(other)), 'other.pub'), parseSigstorePublicKey(Buffer.from(pem(signer)), 'signer.pub')];
    const signature = sign('sha256', PAYLOAD, { key: signer.privateKey, dsaEncoding: 'der' });
    const annotations = (bundle: string | undefined): Record<string, string> => ({
      [SIGNATURE_ANNOTATION]: signature.toString('base64'),
      ...(bundle === undefined ? {} : { [BUNDLE_ANNOTATION]: bundle }),
    });

    it('accepted when the SET logs this signature by a trusted key', () => {
      const verified = verifySigstoreWithKeys(
        signatureWith(annotations(makeSet(rekor, { keyOrCertificatePem: pem(signer), signature, payload: PAYLOAD }))),
        trusted,
        rekorKeys,
      );
      expect(verified.signer).to.contain('signer.pub');
      expect(verified.keyFingerprint).to.match(/^sha256:[0-9a-f]{64}$/);
    });

    const REJECTED: { name: string; bundle: string | undefined; reason: RegExp }[] = [
      {
        name: 'a SET naming an untrusted key',
        bundle: makeSet(rekor, { keyOrCertificatePem: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' })), signature, payload: PAYLOAD }),
        reason: /no trusted key matches the Rekor SET/,
      },
      {
        name: 'a SET signed by another Rekor',
        bundle: makeSet(otherRekor, { keyOrCertificatePem: pem(signer), signature, payload: PAYLOAD }),
        reason: /no trusted key matches the Rekor SET.*verifies with none/,
      },
      { name: 'no bundle', bundle: undefined, reason: /lacks the dev.sigstore.cosign\/bundle annotation/ },
    ];
    for (const testCase of REJECTED) {
      it(`rejected: ${testCase.name}`, () => {
        expect(rejection(() => verifySigstoreWithKeys(signatureWith(annotations(testCase.bundle)), trusted, rekorKeys))).to.match(testCase.reason);
      });
    }

    it('a SET naming the other trusted key makes only that key count, as in c/image', () => {
      const bundle = makeSet(rekor, { keyOrCertificatePem: pem(other), signature, payload: PAYLOAD });
      expect(rejection(() => verifySigstoreWithKeys(signatureWith(annotations(bundle)), trusted, rekorKeys))).to.match(
        /verifies with none of the 1 trusted key/,
      );
    });
  });

  describe('configuration', () => {
    it('a CA file without certificates is a policy error', () => {
      expect(() => parseFulcioCas(Buffer.from('not a certificate'), 'ca.pem'))
        .to.throw(ProxyError, /ca.pem: no PEM certificate/)
        .with.property('code', 'policy-invalid');
    });
    it('a non-ECDSA Rekor key is a policy error', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(() => parseRekorPublicKey(Buffer.from(rsa), 'rekor.pub'))
        .to.throw(ProxyError, /rekor.pub: Rekor public keys must be ECDSA, not rsa/)
        .with.property('code', 'policy-invalid');
    });
    it('the test CA parses as the certificate openssl made', () => {
      expect(parseFulcioCas(Buffer.from(fulcio.caPem + fulcio.otherCaPem), 'cas.pem').map((ca) => ca.fingerprint256)).to.deep.equal([
        new X509Certificate(fulcio.caPem).fingerprint256,
        new X509Certificate(fulcio.otherCaPem).fingerprint256,
      ]);
      expect(createPublicKey(rekor.publicPem).asymmetricKeyType).to.equal('ec');
    });
  });
});
