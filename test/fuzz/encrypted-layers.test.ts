/**
 * Properties over what an encrypted layer's descriptor carries, all of it read from a manifest
 * anyone can write: the public options annotation, the wrapped-key annotations, the private
 * options a key unwraps, and the wrapped keys themselves (PKCS#7 envelopes, JWEs). Each gives a
 * value (or, for a wrapped key, "no key opens it") or a ProxyError.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { GeneralEncrypt } from 'jose';
import { JweKeyUnwrapper } from '../../src/adapters/ocicrypt/jwe-key-unwrapper.js';
import { Pkcs7KeyUnwrapper } from '../../src/adapters/ocicrypt/pkcs7-key-unwrapper.js';
import { type Digest } from '../../src/domain/digest.js';
import { layerCipher, wrappedKeys } from '../../src/domain/layer-encryption.js';
import { fuzz, fuzzAsync, fuzzTimeout } from './fuzz-support.js';
import { hostileBytes, hostileJsonText, mutatedBytes, mutatedText } from './generators.js';
import { opensslEnvelope } from '../support/openssl-cms.js';

const DIGEST = `sha256:${'e'.repeat(64)}` as Digest;
const PUBLIC = 'org.opencontainers.image.enc.pubopts';
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const PUBLIC_OPTIONS = { cipher: 'AES_256_CTR_HMAC_SHA256', hmac: b64(Buffer.alloc(32, 1)), cipheroptions: {} };
const PRIVATE_OPTIONS = { symkey: b64(Buffer.alloc(32, 2)), digest: DIGEST, cipheroptions: { nonce: b64(Buffer.alloc(16, 3)) } };
const privateBytes = Buffer.from(JSON.stringify(PRIVATE_OPTIONS));

describe('fuzz: encrypted layer options and wrapped keys', function () {
  this.timeout(fuzzTimeout());

  it('the public options annotation', () => {
    fuzz(hostileJsonText([PUBLIC_OPTIONS]), (text) => layerCipher(DIGEST, { [PUBLIC]: b64(Buffer.from(text)) }, privateBytes));
  });
  it('the private options a key unwraps', () => {
    fuzz(hostileBytes(hostileJsonText([PRIVATE_OPTIONS])), (bytes) =>
      layerCipher(DIGEST, { [PUBLIC]: b64(Buffer.from(JSON.stringify(PUBLIC_OPTIONS))) }, bytes),
    );
  });
  it('the wrapped-key annotations (comma-separated base64)', () => {
    fuzz(mutatedText([`${b64(Buffer.from('one'))},${b64(Buffer.from('two'))}`]), (text) =>
      wrappedKeys(DIGEST, { 'org.opencontainers.image.enc.keys.jwe': text, 'org.opencontainers.image.enc.keys.pgp': text }),
    );
  });

  it('PKCS#7 envelopes (OpenSSL CMS, a primitive encrypted content): the envelope opens, a mutated one gives its options or none', async () => {
    const { envelope, key } = opensslEnvelope(privateBytes);
    const unwrapper = new Pkcs7KeyUnwrapper([key]);
    expect(Buffer.from((await unwrapper.unwrap(envelope))!).equals(privateBytes)).to.equal(true);
    await fuzzAsync(mutatedBytes([envelope]), (bytes) => unwrapper.unwrap(bytes), 0.3);
  });

  it('JWEs: a mutated one gives its options or none', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwe = await new GeneralEncrypt(privateBytes)
      .setProtectedHeader({ enc: 'A256GCM' })
      .addRecipient(publicKey)
      .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW' })
      .encrypt();
    const unwrapper = new JweKeyUnwrapper([privateKey]);
    expect(Buffer.from((await unwrapper.unwrap(Buffer.from(JSON.stringify(jwe))))!).equals(privateBytes)).to.equal(true);
    await fuzzAsync(hostileBytes(hostileJsonText([jwe])), (bytes) => unwrapper.unwrap(bytes), 0.3);
  });
});
