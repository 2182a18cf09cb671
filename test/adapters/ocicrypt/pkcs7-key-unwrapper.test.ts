import { constants, createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Pkcs7KeyUnwrapper } from '../../../src/adapters/ocicrypt/pkcs7-key-unwrapper.js';
import { opensslEnvelope } from '../../support/openssl-cms.js';

const PKCS1 = { padding: constants.RSA_PKCS1_PADDING };
const AES_128_CBC_OID = Buffer.from('0609608648016503040102', 'hex');

/** Decrypts without throwing: whether the padding check passes. */
function cbcOpens(key: Buffer, iv: Buffer, ciphertext: Buffer): boolean {
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, iv);
    Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return true;
  } catch {
    return false;
  }
}

/** A DER element: tag, definite length, content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length =
    body.length < 0x80
      ? Buffer.from([body.length])
      : body.length < 0x100
        ? Buffer.from([0x81, body.length])
        : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));

/** EnvelopedData with one RSA recipient and AES-128-GCM content, its GCMParameters as given. */
function gcmEnvelope(recipient: ReturnType<typeof generateKeyPairSync>['publicKey'], plain: Buffer, nonceBytes: number, tagBytes: number): Buffer {
  const contentKey = randomBytes(16);
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-128-gcm', contentKey, nonce, { authTagLength: tagBytes });
  const content = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  const recipientInfo = der(
    0x30,
    der(0x02, Buffer.from([0])),
    der(0x30, der(0x30), der(0x02, Buffer.from([1]))),
    der(0x30, oid('2a864886f70d010101'), der(0x05)),
    der(0x04, publicEncrypt({ key: recipient, ...PKCS1 }, contentKey)),
  );
  const parameters = der(0x30, der(0x04, nonce), der(0x02, Buffer.from([tagBytes])));
  const encryptedContentInfo = der(0x30, oid('2a864886f70d010701'), der(0x30, oid('608648016503040106'), parameters), der(0x80, content));
  return der(0x30, oid('2a864886f70d010703'), der(0xa0, der(0x30, der(0x02, Buffer.from([0])), der(0x31, recipientInfo), encryptedContentInfo)));
}

describe('Pkcs7KeyUnwrapper', function () {
  this.timeout(60_000);

  it('an AES-CBC envelope (OpenSSL CMS): a wrong key whose random content key passes the padding check does not stop the search before the key that fits', async () => {
    // A recipient's envelope as OpenSSL's CMS writes it (AES-128-CBC, encrypted content last).
    const options = (fill: number) => Buffer.from(JSON.stringify({ symkey: 'A'.repeat(44), cipheroptions: {}, pad: fill.toString(16).padStart(8, '0') }));
    const { envelope: der, key: recipient } = opensslEnvelope(options(0));
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

    const keyAt = der.indexOf(Buffer.from('04820100', 'hex')) + 4;
    const contentKey = privateDecrypt({ key: recipient, ...PKCS1 }, der.subarray(keyAt, keyAt + 256));
    const ivAt = der.indexOf(AES_128_CBC_OID) + AES_128_CBC_OID.length + 2;
    const iv = der.subarray(ivAt, ivAt + 16);
    const contentLength = (Math.floor(options(0).length / 16) + 1) * 16;
    // The content key wrapped again (fresh padding) until the other key's implicit rejection
    // yields a key of the right length, then content whose CBC padding that key accepts too.
    let wrapped: Buffer;
    let falseKey: Buffer | undefined;
    do {
      wrapped = publicEncrypt({ key: recipient, ...PKCS1 }, contentKey);
      falseKey = otherOpens(wrapped);
    } while (falseKey?.length !== 16);
    function otherOpens(bytes: Buffer): Buffer | undefined {
      try {
        return privateDecrypt({ key: other, ...PKCS1 }, bytes);
      } catch {
        return undefined; // larger than the other key's modulus
      }
    }
    let fill = 0;
    let content: Buffer;
    do {
      const cipher = createCipheriv('aes-128-cbc', contentKey, iv);
      content = Buffer.concat([cipher.update(options(++fill)), cipher.final()]);
    } while (!cbcOpens(falseKey, iv, content));
    expect(content.length).to.equal(contentLength);
    const envelope = Buffer.concat([der.subarray(0, keyAt), wrapped, der.subarray(keyAt + 256, der.length - contentLength), content]);

    expect(Buffer.from((await new Pkcs7KeyUnwrapper([other, recipient]).unwrap(envelope))!).toString()).to.equal(options(fill).toString());
    expect(await new Pkcs7KeyUnwrapper([other]).unwrap(envelope)).to.equal(undefined);
  });

  it("an AES-GCM envelope opens with a 12-byte nonce and a 16-byte tag only, as Go's pkcs7 opens it (a 4-byte tag would let a wrong key's random content key through one time in 2^32)", async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const options = Buffer.from('{"symkey":"AAAA"}');
    const unwrapper = new Pkcs7KeyUnwrapper([privateKey]);
    expect(Buffer.from((await unwrapper.unwrap(gcmEnvelope(publicKey, options, 12, 16)))!).toString()).to.equal(options.toString());
    expect(await unwrapper.unwrap(gcmEnvelope(publicKey, options, 12, 4))).to.equal(undefined);
    expect(await unwrapper.unwrap(gcmEnvelope(publicKey, options, 16, 16))).to.equal(undefined);
  });
});
