import { createPrivateKey, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { decideTools, type ToolsDecision, type ToolsSituation } from './install.js';
import { makeTestPki } from './certs.js';
import { makeTempDir, removeTempDir, run } from './processes.js';
import { decodeJwtClaims, parseScope, signRegistryJwt } from './registry-jwt.js';

describe('registry harness: pure parts', () => {
  describe('decideTools', () => {
    const cases: { name: string; situation: ToolsSituation; expected: ToolsDecision['action']; mentions?: string }[] = [
      { name: 'nothing missing', situation: { missing: [], isRoot: false, ci: true }, expected: 'ready' },
      { name: 'nothing missing after an install', situation: { missing: [], isRoot: true, ci: true, installFailure: 'x' }, expected: 'ready' },
      { name: 'missing as root: install', situation: { missing: ['skopeo'], isRoot: true, ci: false }, expected: 'install' },
      { name: 'missing as root under CI: install', situation: { missing: ['skopeo'], isRoot: true, ci: true }, expected: 'install' },
      {
        name: 'missing, not root, not CI: skip',
        situation: { missing: ['skopeo', 'zstd'], isRoot: false, ci: false },
        expected: 'skip',
        mentions: 'skopeo, zstd',
      },
      { name: 'missing, not root, CI: fail', situation: { missing: ['gpg'], isRoot: false, ci: true }, expected: 'fail', mentions: 'apt-get install' },
      {
        name: 'install failed, CI: fail',
        situation: { missing: ['docker-registry'], isRoot: true, ci: true, installFailure: 'no network' },
        expected: 'fail',
        mentions: 'no network',
      },
      {
        name: 'install failed, not CI: skip',
        situation: { missing: ['docker-registry'], isRoot: true, ci: false, installFailure: 'no network' },
        expected: 'skip',
        mentions: 'docker-registry',
      },
    ];
    for (const { name, situation, expected, mentions } of cases) {
      it(name, () => {
        const decision = decideTools(situation);
        expect(decision.action).to.equal(expected);
        if (mentions !== undefined) expect(decision).to.have.property('reason').that.includes(mentions);
      });
    }
  });

  describe('parseScope', () => {
    const cases: [string, ReturnType<typeof parseScope>][] = [
      ['repository:library/busybox:pull', { type: 'repository', name: 'library/busybox', actions: ['pull'] }],
      ['repository:a/b:pull,push', { type: 'repository', name: 'a/b', actions: ['pull', 'push'] }],
      ['registry:catalog:*', { type: 'registry', name: 'catalog', actions: ['*'] }],
      ['repository:host:5000/x:pull', { type: 'repository', name: 'host:5000/x', actions: ['pull'] }],
      ['repository:nothing', undefined],
      ['', undefined],
    ];
    for (const [scope, expected] of cases) {
      it(`parses ${JSON.stringify(scope)}`, () => expect(parseScope(scope)).to.deep.equal(expected));
    }
  });

  describe('signRegistryJwt', () => {
    const claims = { issuer: 'iss', audience: 'svc', subject: 'alice', access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }], lifetimeSeconds: 120 };

    it('signs RS256 with the certificate in x5c and the claims docker-registry checks', async function () {
      this.timeout(20_000);
      const dir = makeTempDir('jwt-test');
      try {
        const pki = await makeTestPki(dir, 'signer', []);
        const token = signRegistryJwt({ certificatePem: pki.certPem, privateKey: createPrivateKey(pki.keyPem) }, claims, new Date(1_700_000_000_000));
        const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
        const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString()) as { alg: string; x5c: string[] };
        expect(header.alg).to.equal('RS256');
        const leaf = new X509Certificate(Buffer.from(header.x5c[0]!, 'base64'));
        expect(leaf.checkIssued(new X509Certificate(readFileSync(join(dir, 'ca.crt'))))).to.equal(true);
        expect(verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), leaf.publicKey, Buffer.from(signaturePart, 'base64url'))).to.equal(true);
        expect(decodeJwtClaims(token)).to.include({ iss: 'iss', aud: 'svc', sub: 'alice', iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_000_120 });
        expect(decodeJwtClaims(token).access).to.deep.equal(claims.access);
        expect(decodeJwtClaims(token).jti).to.be.a('string').and.not.equal('');
      } finally {
        removeTempDir(dir);
      }
    });

    it('signs ES256 as raw r||s (64 bytes), as JOSE requires', async function () {
      this.timeout(20_000);
      const dir = makeTempDir('jwt-test');
      try {
        const keyPath = join(dir, 'ec.key');
        const certPath = join(dir, 'ec.crt');
        await run('openssl', [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          keyPath,
          '-out',
          certPath,
          '-days',
          '1',
          '-subj',
          '/CN=ec signer',
        ]);
        const privateKey = createPrivateKey(readFileSync(keyPath));
        const token = signRegistryJwt({ certificatePem: readFileSync(certPath, 'utf8'), privateKey }, claims);
        const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
        expect(JSON.parse(Buffer.from(headerPart, 'base64url').toString())).to.include({ alg: 'ES256' });
        const signature = Buffer.from(signaturePart, 'base64url');
        expect(signature.length).to.equal(64);
        const publicKey = new X509Certificate(readFileSync(certPath)).publicKey;
        expect(verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).to.equal(true);
      } finally {
        removeTempDir(dir);
      }
    });
  });
});
