import { expect } from 'chai';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DecryptingStream } from '../../src/domain/decrypting-stream.js';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { decryptedMediaType, isEncryptedMediaType, layerCipher, type LayerCipher, wrappedKeys } from '../../src/domain/layer-encryption.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const json64 = (value: unknown) => b64(Buffer.from(JSON.stringify(value)));

/** What ocicrypt writes for a layer: ciphertext, the public options annotation and the private options JSON. */
function encrypt(plain: Buffer) {
  const key = randomBytes(32);
  const nonce = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, nonce);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const hmac = createHmac('sha256', key).update(ciphertext).digest();
  return {
    ciphertext,
    annotations: { 'org.opencontainers.image.enc.pubopts': json64({ cipher: 'AES_256_CTR_HMAC_SHA256', hmac: b64(hmac), cipheroptions: {} }) },
    privateOptions: Buffer.from(JSON.stringify({ symkey: b64(key), digest: DIGEST, cipheroptions: { nonce: b64(nonce) } })),
  };
}

async function decrypt(chunks: Buffer[], cipher: LayerCipher) {
  const out: Buffer[] = [];
  try {
    for await (const chunk of Readable.from(chunks).pipe(new DecryptingStream(cipher, 'layer'))) out.push(chunk as Buffer);
    return { body: Buffer.concat(out), error: undefined };
  } catch (error) {
    return { body: Buffer.concat(out), error };
  }
}

describe('encrypted layers (ocicrypt)', () => {
  it('tells encrypted media types and the type once decrypted', () => {
    expect(isEncryptedMediaType('application/vnd.oci.image.layer.v1.tar+gzip+encrypted')).to.equal(true);
    expect(isEncryptedMediaType('application/vnd.oci.image.layer.v1.tar+gzip')).to.equal(false);
    expect(decryptedMediaType('application/vnd.oci.image.layer.v1.tar+zstd+encrypted')).to.equal('application/vnd.oci.image.layer.v1.tar+zstd');
  });

  it('lists every comma-separated wrapped key, JWE first, and refuses an entry that is not base64', () => {
    const annotations = {
      'org.opencontainers.image.enc.keys.pgp': `${b64(Buffer.from('p1'))},${b64(Buffer.from('p2'))}`,
      'org.opencontainers.image.enc.keys.jwe': b64(Buffer.from('j')),
    };
    expect(wrappedKeys(DIGEST, annotations).map((key) => [key.scheme, Buffer.from(key.bytes).toString()])).to.deep.equal([
      ['jwe', 'j'],
      ['pgp', 'p1'],
      ['pgp', 'p2'],
    ]);
    expect(() => wrappedKeys(DIGEST, { 'org.opencontainers.image.enc.keys.jwe': 'not base64!' })).to.throw(/keys\.jwe is not base64/);
  });

  it('decrypts, in any chunking, and holds back the last chunk until the HMAC matched', async () => {
    const plain = randomBytes(100_000);
    const layer = encrypt(plain);
    const cipher = layerCipher(DIGEST, layer.annotations, layer.privateOptions);
    const { body, error } = await decrypt([layer.ciphertext.subarray(0, 1), layer.ciphertext.subarray(1, 60_000), layer.ciphertext.subarray(60_000)], cipher);
    expect(error).to.equal(undefined);
    expect(body.equals(plain)).to.equal(true);
  });

  it('never gives a complete plaintext for ciphertext that fails its HMAC', async () => {
    const plain = randomBytes(50_000);
    const layer = encrypt(plain);
    const altered = Buffer.from(layer.ciphertext);
    altered[10]! ^= 1;
    const { body, error } = await decrypt(
      [altered.subarray(0, 25_000), altered.subarray(25_000)],
      layerCipher(DIGEST, layer.annotations, layer.privateOptions),
    );
    expect(isProxyError(error, 'decryption-failed'), String(error)).to.equal(true);
    expect(body.length).to.be.lessThan(plain.length);
  });

  it('decrypts an empty layer', async () => {
    const layer = encrypt(Buffer.alloc(0));
    const { body, error } = await decrypt([], layerCipher(DIGEST, layer.annotations, layer.privateOptions));
    expect([error, body.length]).to.deep.equal([undefined, 0]);
  });

  const PUB = 'org.opencontainers.image.enc.pubopts';
  const key = b64(randomBytes(32));
  const nonce = b64(randomBytes(16));
  const hmac = b64(randomBytes(32));
  const good = { pub: { cipher: 'AES_256_CTR_HMAC_SHA256', hmac, cipheroptions: {} }, priv: { symkey: key, cipheroptions: { nonce } } };
  for (const [name, pub, priv, message] of [
    ['no public options', undefined, good.priv, /has no org\.opencontainers\.image\.enc\.pubopts annotation/],
    ['another cipher', { ...good.pub, cipher: 'AES_128_GCM' }, good.priv, /cipher "AES_128_GCM" is not supported/],
    ['no HMAC', { ...good.pub, hmac: undefined }, good.priv, /the HMAC is 0 bytes/],
    ['a short key', good.pub, { ...good.priv, symkey: b64(randomBytes(16)) }, /the symmetric key is 16 bytes, not 32/],
    ['no nonce anywhere (ocicrypt would make one up)', good.pub, { symkey: key }, /the nonce is 0 bytes, not 16/],
    ['private options that are not JSON', good.pub, 'nonsense', /the unwrapped private options are not JSON/],
    ['a key that is not base64', good.pub, { ...good.priv, symkey: '***' }, /symkey is not base64/],
  ] as const) {
    it(`refuses ${name} with decryption-failed`, () => {
      const annotations: Record<string, string> = pub === undefined ? {} : { [PUB]: json64(pub) };
      const privateOptions = Buffer.from(typeof priv === 'string' ? priv : JSON.stringify(priv));
      let thrown: unknown;
      try {
        layerCipher(DIGEST, annotations, privateOptions);
      } catch (err) {
        thrown = err;
      }
      expect(isProxyError(thrown, 'decryption-failed'), String(thrown)).to.equal(true);
      expect((thrown as Error).message).to.match(message);
    });
  }

  it('takes a nonce from the public options first, as ocicrypt does', () => {
    const publicNonce = randomBytes(16);
    const cipher = layerCipher(DIGEST, { [PUB]: json64({ ...good.pub, cipheroptions: { nonce: b64(publicNonce) } }) }, Buffer.from(JSON.stringify(good.priv)));
    expect(Buffer.from(cipher.nonce).equals(publicNonce)).to.equal(true);
  });
});
