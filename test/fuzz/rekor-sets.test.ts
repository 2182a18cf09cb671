/**
 * Properties over the Rekor SET a sigstore signature carries (`dev.sigstore.cosign/bundle`):
 * hostile bundles, which are read before any signature is checked, and hostile log entries
 * signed by a trusted Rekor key, which are read after. Each gives an entry or a ProxyError.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { verifyRekorSet } from '../../src/adapters/sigstore/rekor-set.js';
import { makeSet, makeSetOverEntryText, makeTestRekor } from '../adapters/sigstore/test-sigstore.js';
import { fuzz, fuzzTimeout } from './fuzz-support.js';
import { hostileJsonText } from './generators.js';

const rekor = makeTestRekor();
const rekorKey = createPublicKey(rekor.publicPem);
const keyPem = makeTestRekor().publicPem;
const payload = Buffer.from('{"critical":{}}');
const signature = Buffer.from('signature bytes');
const subject = (bundle: string) => ({ bundle, keyOrCertificatePem: keyPem, base64Signature: signature.toString('base64'), payload });

const ENTRY = {
  apiVersion: '0.0.1',
  kind: 'hashedrekord',
  spec: {
    signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(keyPem).toString('base64') } },
    data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
  },
};

describe('fuzz: Rekor SETs', function () {
  this.timeout(fuzzTimeout());

  it('bundles, as untrusted annotations', () => {
    const bundle = JSON.parse(makeSet(rekor, { keyOrCertificatePem: keyPem, signature, payload })) as unknown;
    fuzz(hostileJsonText([bundle]), (text) => verifyRekorSet([rekorKey], subject(text)));
  });
  it('log entries under a valid SET', () => {
    fuzz(hostileJsonText([ENTRY]), (text) => verifyRekorSet([rekorKey], subject(makeSetOverEntryText(rekor, text))));
  });
});
