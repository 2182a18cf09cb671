import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import { isolatedEnv } from '../registry/proxy-session.js';
import {
  type AttachedSignature,
  cosignPayload,
  type KeyKind,
  makeSigningKey,
  pushSigstoreAttachment,
  signPayload,
  type SigningKey,
} from './sigstore-attachments.js';

/**
 * Key-based sigstore signatures (ECDSA P-256, RSA, Ed25519) made in the test and pushed as
 * `sha256-<hex>.sig` attachments to a real registry; the proxy finds them because registries.d
 * says `use-sigstore-attachments: true`, and judges them through the CLI.
 */

const SIGNATURE = 'dev.cosignproject.cosign/signature';

interface Case {
  readonly name: string;
  /** Key the policy trusts. */
  readonly trusted: KeyKind;
  readonly identity: object;
  /** What is attached to the image; undefined → nothing. */
  readonly attach?: (context: { repository: string; digest: string; keys: Record<KeyKind | 'other', SigningKey> }) => AttachedSignature[];
  readonly accepted: boolean;
  readonly reason?: RegExp;
}

const signed = (key: SigningKey, payload: Buffer): AttachedSignature => ({
  payload,
  annotations: { [SIGNATURE]: signPayload(key, payload).toString('base64') },
});

describe('signatures end to end: sigstore attachments with public keys', function () {
  this.timeout(60_000);
  let registriesDir: string;
  const proxies: ProxyProcess[] = [];
  const keys = {
    'ecdsa-p256': makeSigningKey('ecdsa-p256'),
    rsa: makeSigningKey('rsa'),
    ed25519: makeSigningKey('ed25519'),
    other: makeSigningKey('ecdsa-p256'),
  };
  const matchRepository = { type: 'matchRepository' };
  const image = standardFixtures().ociSingle;

  const CASES: Case[] = [
    {
      name: 'ECDSA P-256, matchRepository: accepted',
      trusted: 'ecdsa-p256',
      identity: matchRepository,
      accepted: true,
      attach: (c) => [signed(c.keys['ecdsa-p256'], cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'RSA, matchRepository: accepted',
      trusted: 'rsa',
      identity: matchRepository,
      accepted: true,
      attach: (c) => [signed(c.keys.rsa, cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'Ed25519, matchRepository: accepted',
      trusted: 'ed25519',
      identity: matchRepository,
      accepted: true,
      attach: (c) => [signed(c.keys.ed25519, cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'exactRepository accepts a repository-only identity',
      trusted: 'ecdsa-p256',
      identity: { type: 'exactRepository', dockerRepository: 'REPO' },
      accepted: true,
      attach: (c) => [signed(c.keys['ecdsa-p256'], cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'matchRepoDigestOrExact rejects a repository-only identity',
      trusted: 'ecdsa-p256',
      identity: { type: 'matchRepoDigestOrExact' },
      accepted: false,
      reason: /wrong identity/,
      attach: (c) => [signed(c.keys['ecdsa-p256'], cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'an untrusted key: rejected',
      trusted: 'ecdsa-p256',
      identity: matchRepository,
      accepted: false,
      reason: /unknown key/,
      attach: (c) => [signed(c.keys.other, cosignPayload(c.repository, c.digest))],
    },
    {
      name: 'a payload changed after signing: rejected',
      trusted: 'rsa',
      identity: matchRepository,
      accepted: false,
      reason: /bad signature/,
      attach: (c) => {
        const good = signed(c.keys.rsa, cosignPayload(c.repository, c.digest));
        return [{ ...good, payload: cosignPayload(`${c.repository}-evil`, c.digest) }];
      },
    },
    {
      name: 'a signature of another manifest: rejected',
      trusted: 'ed25519',
      identity: matchRepository,
      accepted: false,
      reason: /digest mismatch/,
      attach: (c) => [signed(c.keys.ed25519, cosignPayload(c.repository, `sha256:${'0'.repeat(64)}`))],
    },
    {
      name: 'a bad one next to a good one: accepted',
      trusted: 'ecdsa-p256',
      identity: matchRepository,
      accepted: true,
      attach: (c) => [signed(c.keys.other, cosignPayload(c.repository, c.digest)), signed(c.keys['ecdsa-p256'], cosignPayload(c.repository, c.digest))],
    },
    { name: 'no attachment: rejected', trusted: 'ecdsa-p256', identity: matchRepository, accepted: false, reason: /no signature exists/ },
  ];

  const registry = useRegistry(
    { kind: 'anonymous' },
    {
      tempDir: 'e2e-sigstore',
      push: async (pusher, { host }) => {
        for (const [index, testCase] of CASES.entries()) {
          const repository = `sigstore/case${index}`;
          await pusher.pushArtifact(repository, 'v1', image);
          const signatures = testCase.attach?.({ repository: `${host}/${repository}`, digest: image.manifest.digest, keys });
          if (signatures) await pushSigstoreAttachment(pusher, repository, image.manifest.digest, signatures);
        }
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

  for (const [index, testCase] of CASES.entries()) {
    it(testCase.name, async () => {
      const repository = `${registry.host}/sigstore/case${index}`;
      const keyPath = join(registry.workDir, `case${index}.pub`);
      writeFileSync(keyPath, keys[testCase.trusted].publicPem);
      const identity = JSON.parse(JSON.stringify(testCase.identity).replace('REPO', repository)) as object;
      const policyPath = join(registry.workDir, `policy-${index}.json`);
      writeFileSync(
        policyPath,
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { docker: { [registry.host]: [{ type: 'sigstoreSigned', keyPath, signedIdentity: identity }] } },
        }),
      );
      const proxy = spawnProxy(
        ['--log-level', 'info', '--policy', policyPath, '--registries.d', registriesDir, '--tls-verify=false', `docker://${repository}:v1`],
        { env: isolatedEnv(registry.workDir) },
      );
      proxies.push(proxy);
      const manifest = await proxy.request('GET', '/manifest');
      await proxy.request('POST', '/quit');
      await proxy.exited;
      await finished(proxy.child.stderr!);
      if (testCase.accepted) {
        expect(manifest.status, manifest.body.toString()).to.equal(200);
        // The info log names the policy file, the scope, the requirement and the key that verified.
        const decision = `docker://${repository}:v1: allowed by ${policyPath}, scope docker:"${registry.host}": sigstoreSigned, signed by sha256:`;
        expect(proxy.stderr(), proxy.stderr()).to.include(decision);
        expect(proxy.stderr().slice(proxy.stderr().indexOf(decision) + decision.length)).to.match(/^[0-9a-f]{64}\n/);
      } else {
        expect(proxy.stderr(), 'the info log says why the policy refused').to.match(
          new RegExp(`${repository.replace(/[.]/g, '\\.')}:v1: rejected: .*sigstoreSigned`),
        );
        expect(manifest.status, manifest.body.toString()).to.equal(403);
        const body = JSON.parse(manifest.body.toString()) as { code: string; message: string };
        expect(body.code).to.equal('policy-rejected');
        expect(body.message).to.match(testCase.reason!).and.to.contain('sigstoreSigned');
      }
    });
  }
});
