import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { type PolicyVerdict } from '../../../src/ports/signature-policy.js';
import { useRegistry } from '../../support/registry/fixture.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import {
  BUNDLE_ANNOTATION,
  EMAIL,
  ISSUER,
  keylessAnnotations,
  makeSet,
  makeTestFulcio,
  makeTestRekor,
  SIGNATURE_ANNOTATION,
} from '../../adapters/sigstore/test-sigstore.js';
import { errorOf, isolatedEnv, jsonOf } from '../registry/proxy-session.js';
import { type AttachedSignature, cosignPayload, pushSigstoreAttachment } from './sigstore-attachments.js';

/**
 * Keyless (Fulcio + Rekor) and key + Rekor sigstore signatures made in the test with a test CA
 * and a test Rekor key, attached to images on a real registry and judged through the CLI; the
 * verdict is read back with GET /signatures.
 */

const DAY = 24 * 3600;

interface Case {
  readonly name: string;
  /** The policy's sigstoreSigned fields besides signedIdentity. */
  readonly trust: (files: { ca: string; rekor: string; key: string }) => object;
  readonly attach: (repository: string, digest: string) => Promise<AttachedSignature[]>;
  /** Checks the verdict of an accepted image; undefined → the image must be rejected. */
  readonly verdict?: (verdict: PolicyVerdict, repository: string) => void;
  readonly reason?: RegExp;
}

describe('signatures end to end: sigstore with Fulcio and Rekor, and GET /signatures', function () {
  this.timeout(60_000);
  let registriesDir: string;
  const proxies: ProxyProcess[] = [];
  const image = standardFixtures().ociSingle;
  const rekor = makeTestRekor();
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKeyPem = signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let fulcio: Awaited<ReturnType<typeof makeTestFulcio>>;

  const keyless = async (repository: string, digest: string, options: { email?: string; integratedTime?: number } = {}): Promise<AttachedSignature> => {
    const payload = cosignPayload(repository, digest);
    const leaf = await fulcio.leaf({ issuerV2: ISSUER, email: options.email });
    return { payload, annotations: keylessAnnotations(rekor, leaf, payload, { integratedTime: options.integratedTime }) };
  };
  const fulcioTrust = (files: { ca: string; rekor: string }) => ({
    fulcio: { caPath: files.ca, oidcIssuer: ISSUER, subjectEmail: EMAIL },
    rekorPublicKeyPath: files.rekor,
  });

  const CASES: Case[] = [
    {
      name: 'Fulcio + Rekor: accepted; /signatures reports the good signature and why the other failed',
      trust: fulcioTrust,
      attach: async (repository, digest) => [await keyless(repository, digest, { email: 'mallory@example.com' }), await keyless(repository, digest)],
      verdict: (verdict, repository) => {
        expect(verdict.allowed).to.equal(true);
        expect(verdict.scope).to.equal(`docker:${JSON.stringify(registry.host)}`);
        expect(verdict.requirements).to.deep.equal([{ type: 'sigstoreSigned', acceptedSignatures: [1] }]);
        expect(verdict.signatures).to.have.length(2);
        expect(verdict.signatures[0]).to.include({ kind: 'sigstore', verified: false });
        expect(verdict.signatures[0]!.reason).to.match(/required email "signer@example.com" not found/);
        expect(verdict.signatures[1]).to.deep.equal({
          kind: 'sigstore',
          certificateIdentity: EMAIL,
          certificateIssuer: ISSUER,
          identity: repository,
          verified: true,
        });
      },
    },
    {
      name: 'Fulcio + Rekor, policy wants another email: rejected',
      trust: (files) => ({ ...fulcioTrust(files), fulcio: { caPath: files.ca, oidcIssuer: ISSUER, subjectEmail: 'someone-else@example.com' } }),
      attach: async (repository, digest) => [await keyless(repository, digest)],
      reason: /required email "someone-else@example.com" not found/,
    },
    {
      name: 'Fulcio + Rekor, certificate expired when Rekor logged it: rejected',
      trust: fulcioTrust,
      attach: async (repository, digest) => [await keyless(repository, digest, { integratedTime: Math.floor(Date.now() / 1000) + 5 * DAY })],
      reason: /does not chain to the configured CA .* is valid from/,
    },
    {
      name: 'Fulcio + Rekor, no bundle: rejected',
      trust: fulcioTrust,
      attach: async (repository, digest) => {
        const { payload, annotations } = await keyless(repository, digest);
        const { [BUNDLE_ANNOTATION]: _bundle, ...rest } = annotations;
        return [{ payload, annotations: rest }];
      },
      reason: /lacks the dev.sigstore.cosign\/bundle annotation/,
    },
    {
      name: 'public key + Rekor: accepted; /signatures reports the key fingerprint',
      trust: (files) => ({ keyPath: files.key, rekorPublicKeyPath: files.rekor }),
      attach: async (repository, digest) => {
        const payload = cosignPayload(repository, digest);
        const signature = sign('sha256', payload, { key: signingKey.privateKey, dsaEncoding: 'der' });
        return [
          {
            payload,
            annotations: {
              [SIGNATURE_ANNOTATION]: signature.toString('base64'),
              [BUNDLE_ANNOTATION]: makeSet(rekor, { keyOrCertificatePem: signingKeyPem, signature, payload }),
            },
          },
        ];
      },
      verdict: (verdict, repository) => {
        expect(verdict.requirements).to.deep.equal([{ type: 'sigstoreSigned', acceptedSignatures: [0] }]);
        expect(verdict.signatures).to.have.length(1);
        expect(verdict.signatures[0]).to.include({ kind: 'sigstore', identity: repository, verified: true });
        expect(verdict.signatures[0]!.keyFingerprint).to.match(/^sha256:[0-9a-f]{64}$/);
      },
    },
    {
      name: 'public key + Rekor, signature never logged: rejected',
      trust: (files) => ({ keyPath: files.key, rekorPublicKeyPath: files.rekor }),
      attach: async (repository, digest) => {
        const payload = cosignPayload(repository, digest);
        return [
          { payload, annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', payload, { key: signingKey.privateKey, dsaEncoding: 'der' }).toString('base64') } },
        ];
      },
      reason: /lacks the dev.sigstore.cosign\/bundle annotation/,
    },
  ];

  const registry = useRegistry(
    { kind: 'anonymous' },
    {
      tempDir: 'e2e-fulcio-rekor',
      // The test Fulcio certifies what the cases sign, so it is made before anything is pushed.
      push: async (pusher, { host, workDir }) => {
        fulcio = await makeTestFulcio(workDir);
        writeFileSync(join(workDir, 'fulcio-ca.pem'), fulcio.caPem);
        writeFileSync(join(workDir, 'rekor.pub'), rekor.publicPem);
        writeFileSync(join(workDir, 'signer.pub'), signingKeyPem);
        for (const [index, testCase] of CASES.entries()) {
          const repository = `keyless/case${index}`;
          await pusher.pushArtifact(repository, 'v1', image);
          await pushSigstoreAttachment(pusher, repository, image.manifest.digest, await testCase.attach(`${host}/${repository}`, image.manifest.digest));
        }
        await pusher.pushArtifact('keyless/unsigned', 'v1', image);
      },
    },
  );
  before(() => {
    registriesDir = join(registry.workDir, 'registries.d');
    mkdirSync(registriesDir);
    writeFileSync(
      join(registriesDir, 'sigstore.yaml'),
      `docker:\n  ${registry.host}:\n    use-sigstore-attachments: true\n    lookaside: file://${join(registry.workDir, 'no-lookaside')}\n`,
    );
  });

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.dispose()));
  });

  const start = (args: string[]): ProxyProcess => {
    const proxy = spawnProxy(['--registries.d', registriesDir, '--tls-verify=false', ...args], { env: isolatedEnv(registry.workDir) });
    proxies.push(proxy);
    return proxy;
  };

  for (const [index, testCase] of CASES.entries()) {
    it(testCase.name, async () => {
      const repository = `${registry.host}/keyless/case${index}`;
      const files = { ca: join(registry.workDir, 'fulcio-ca.pem'), rekor: join(registry.workDir, 'rekor.pub'), key: join(registry.workDir, 'signer.pub') };
      const policyPath = join(registry.workDir, `policy-${index}.json`);
      const requirement = { type: 'sigstoreSigned', ...testCase.trust(files), signedIdentity: { type: 'matchRepository' } };
      writeFileSync(policyPath, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [registry.host]: [requirement] } } }));
      const proxy = start(['--policy', policyPath, `docker://${repository}:v1`]);
      const manifest = await proxy.request('GET', '/manifest');
      const signatures = await proxy.request('GET', '/signatures');
      if (testCase.verdict) {
        expect(manifest.status, manifest.body.toString()).to.equal(200);
        expect(signatures.status, signatures.body.toString()).to.equal(200);
        expect(signatures.headers['content-type']).to.match(/^application\/json/);
        const verdict = jsonOf<PolicyVerdict>(signatures);
        expect(verdict.policy).to.equal(policyPath);
        testCase.verdict(verdict, repository);
      } else {
        for (const answer of [manifest, signatures]) {
          expect(answer.status, answer.body.toString()).to.equal(403);
          expect(errorOf(answer).code).to.equal('policy-rejected');
          expect(errorOf(answer).message).to.match(testCase.reason!).and.to.contain('sigstoreSigned');
        }
      }
    });
  }

  it('GET /signatures?image= judges the named image, and a rejected one answers 403', async () => {
    const policyPath = join(registry.workDir, 'policy-image-param.json');
    const requirement = {
      type: 'sigstoreSigned',
      ...fulcioTrust({ ca: join(registry.workDir, 'fulcio-ca.pem'), rekor: join(registry.workDir, 'rekor.pub') }),
      signedIdentity: { type: 'matchRepository' },
    };
    writeFileSync(policyPath, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [registry.host]: [requirement] } } }));
    const proxy = start(['--policy', policyPath]);
    const signed = await proxy.request('GET', `/signatures?image=${encodeURIComponent(`docker://${registry.host}/keyless/case0:v1`)}`);
    expect(signed.status, signed.body.toString()).to.equal(200);
    expect(jsonOf<PolicyVerdict>(signed).requirements).to.deep.equal([{ type: 'sigstoreSigned', acceptedSignatures: [1] }]);
    const unsigned = await proxy.request('GET', `/signatures?image=${encodeURIComponent(`docker://${registry.host}/keyless/unsigned:v1`)}`);
    expect(unsigned.status).to.equal(403);
    expect(errorOf(unsigned).message).to.match(/no signature exists/);
    const post = await proxy.request('POST', '/signatures');
    expect(post.status).to.equal(405);
  });

  it('GET /signatures with --insecure-policy: allowed without requirements or signatures', async () => {
    const proxy = start(['--insecure-policy', `docker://${registry.host}/keyless/unsigned:v1`]);
    const answer = await proxy.request('GET', '/signatures');
    expect(answer.status, answer.body.toString()).to.equal(200);
    expect(jsonOf<PolicyVerdict>(answer)).to.deep.equal({ allowed: true, policy: '--insecure-policy', requirements: [], signatures: [] });
  });
});
