import { sign } from 'node:crypto';
import { expect } from 'chai';
import { ProxyError } from '../../../src/domain/errors.js';
import { SIGSTORE_PAYLOAD_MEDIA_TYPE } from '../../../src/domain/signatures/signature.js';
import { type PkiRoot, parsePkiCertificates } from '../../../src/adapters/sigstore/pki.js';
import { verifySigstoreWithPki } from '../../../src/adapters/sigstore/sigstore-verifier.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import {
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  EMAIL,
  type Leaf,
  type LeafOptions,
  makeTestFulcio,
  SIGNATURE_ANNOTATION,
  type TestFulcio,
} from './test-sigstore.js';

const PAYLOAD = Buffer.from('payload');

describe('sigstore pki: certificate checked against the policy CA roots, no Rekor', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: TestFulcio;
  const roots = (): PkiRoot => ({
    roots: parsePkiCertificates(Buffer.from(ca.caPem), 'roots.pem'),
    intermediates: [],
    subjectEmail: EMAIL,
    subjectHostname: undefined,
  });

  before(async () => {
    dir = makeTempDir('sigstore-pki');
    ca = await makeTestFulcio(dir);
  });
  after(() => removeTempDir(dir));

  const signed = (leaf: Leaf, extra: Record<string, string> = {}) => ({
    format: 'sigstore' as const,
    mimeType: SIGSTORE_PAYLOAD_MEDIA_TYPE,
    payload: PAYLOAD,
    annotations: {
      [SIGNATURE_ANNOTATION]: sign('sha256', PAYLOAD, { key: leaf.privateKey, dsaEncoding: 'der' }).toString('base64'),
      [CERTIFICATE_ANNOTATION]: leaf.certificatePem,
      ...extra,
    },
  });

  const CASES: { name: string; leaf: LeafOptions; root?: (root: PkiRoot) => PkiRoot; chain?: () => string; reason?: RegExp }[] = [
    { name: 'email: accepted', leaf: {} },
    {
      name: 'hostname from a DNS SAN: accepted',
      leaf: { extraSan: 'DNS:signer.example.com' },
      root: (root) => ({ ...root, subjectEmail: undefined, subjectHostname: 'signer.example.com' }),
    },
    {
      name: 'intermediate from the policy: accepted',
      leaf: { issuedBy: 'intermediate' },
      root: (root) => ({ ...root, intermediates: parsePkiCertificates(Buffer.from(ca.intermediatePem), 'intermediates.pem') }),
    },
    { name: 'intermediate from the chain annotation: accepted', leaf: { issuedBy: 'intermediate' }, chain: () => ca.intermediatePem + ca.caPem },
    { name: 'another CA: rejected', leaf: { issuedBy: 'other-ca' }, reason: /does not chain to the configured CA roots/ },
    { name: 'another email: rejected', leaf: { email: 'mallory@example.com' }, reason: /required email "signer@example.com" not found/ },
    {
      name: 'another hostname: rejected',
      leaf: { extraSan: 'DNS:evil.example.com' },
      root: (root) => ({ ...root, subjectHostname: 'signer.example.com' }),
      reason: /not for host "signer.example.com"/,
    },
    { name: 'not for code signing: rejected', leaf: { extendedKeyUsage: 'serverAuth' }, reason: /does not allow code signing/ },
  ];
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const leaf = await ca.leaf(testCase.leaf);
      const signature = signed(leaf, testCase.chain ? { [CHAIN_ANNOTATION]: testCase.chain() } : {});
      const root = testCase.root ? testCase.root(roots()) : roots();
      if (testCase.reason === undefined) {
        expect(verifySigstoreWithPki(signature, root).certificateIdentity).to.be.a('string').and.not.equal('');
      } else {
        expect(() => verifySigstoreWithPki(signature, root))
          .to.throw(ProxyError, testCase.reason)
          .with.property('code', 'policy-rejected');
      }
    });
  }

  it('a payload signed by another key: rejected', async () => {
    const signature = signed(await ca.leaf());
    const other = await ca.leaf();
    expect(() =>
      verifySigstoreWithPki({ ...signature, annotations: { ...signature.annotations, [CERTIFICATE_ANNOTATION]: other.certificatePem } }, roots()),
    ).to.throw(ProxyError, /payload does not verify/);
  });
});
