import { constants, createDecipheriv, type KeyObject, privateDecrypt } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import { type KeyUnwrapper } from '../../ports/key-unwrapper.js';
import { type DerElement, derReader } from '../der/der-reader.js';

class MalformedEnvelope extends Error {}
const { readElement, children, oidString } = derReader((detail) => new MalformedEnvelope(detail));

const ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** The content ciphers Go's pkcs7 package writes (ocicrypt picks AES-128-GCM). */
const CONTENT_CIPHERS: Readonly<Record<string, { readonly name: string; readonly keyLength: number }>> = {
  '2.16.840.1.101.3.4.1.6': { name: 'aes-128-gcm', keyLength: 16 },
  '2.16.840.1.101.3.4.1.46': { name: 'aes-256-gcm', keyLength: 32 },
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
};
const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const GO_NONCE_TAG = 0x84;
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

interface Envelope {
  /** The content key, encrypted (RSAES-PKCS1-v1_5) for each RSA recipient. */
  readonly encryptedKeys: readonly Buffer[];
  readonly cipher: { readonly name: string; readonly keyLength: number };
  readonly iv: Buffer;
  readonly tagLength: number;
  readonly content: Buffer;
}

/**
 * `org.opencontainers.image.enc.keys.pkcs7` entries: CMS EnvelopedData (RFC 5652) with key
 * transport recipients, as Go's pkcs7 package writes them for ocicrypt. No well-kept package
 * decrypts these with RSAES-PKCS1-v1_5 and AES-GCM together, so the envelope is read here and
 * node:crypto does the decryption (OpenSSL's implicit rejection turns a wrong key into a random
 * content key, which the GCM tag then refuses).
 */
export class Pkcs7KeyUnwrapper implements KeyUnwrapper {
  readonly scheme = 'pkcs7';

  constructor(private readonly keys: readonly KeyObject[]) {}

  unwrap(wrapped: Uint8Array): Promise<Uint8Array | undefined> {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(Buffer.from(wrapped));
    } catch {
      return Promise.resolve(undefined);
    }
    for (const key of this.keys) {
      for (const encryptedKey of envelope.encryptedKeys) {
        const opened = attempt(() => decryptContent(envelope, contentKey(key, encryptedKey)));
        if (opened !== undefined) return Promise.resolve(opened);
      }
    }
    return Promise.resolve(undefined);
  }
}

/**
 * RSAES-PKCS1-v1_5. Node refuses it for decryption where OpenSSL cannot reject implicitly (before
 * 3.2, e.g. Node 22's): that is said as it is, not taken for a key that does not fit.
 */
function contentKey(key: KeyObject, encryptedKey: Buffer): Buffer {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, encryptedKey);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_INVALID_ARG_VALUE') throw err;
    throw new ProxyError(
      'decryption-failed',
      `PKCS#7-wrapped layer keys cannot be opened with Node.js ${process.version}, whose OpenSSL lacks implicit rejection for RSA PKCS#1 v1.5; use Node.js 24 or the single executable`,
      { cause: err },
    );
  }
}

function decryptContent(envelope: Envelope, contentKey: Buffer): Buffer {
  if (contentKey.length !== envelope.cipher.keyLength) throw new MalformedEnvelope('content key of the wrong length');
  if (envelope.cipher.name.endsWith('gcm')) {
    const tagAt = envelope.content.length - envelope.tagLength;
    if (tagAt < 0) throw new MalformedEnvelope('content shorter than its tag');
    const decipher = createDecipheriv(envelope.cipher.name as 'aes-128-gcm', contentKey, envelope.iv, { authTagLength: envelope.tagLength });
    decipher.setAuthTag(envelope.content.subarray(tagAt));
    return Buffer.concat([decipher.update(envelope.content.subarray(0, tagAt)), decipher.final()]);
  }
  const decipher = createDecipheriv(envelope.cipher.name, contentKey, envelope.iv);
  const opened = Buffer.concat([decipher.update(envelope.content), decipher.final()]);
  // CBC authenticates nothing: the random content key a wrong RSA key yields (implicit
  // rejection) passes the padding check about one time in 256, and taking its noise would stop
  // the search before the key that fits. Private options are a JSON object; anything else is a
  // key that did not open it.
  if (!isJsonObject(opened)) throw new MalformedEnvelope('content that is not private options');
  return opened;
}

function isJsonObject(bytes: Buffer): boolean {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function parseEnvelope(der: Buffer): Envelope {
  const [type, explicit] = children(expect(readElement(der, 0), SEQUENCE).content);
  if (type === undefined || oidString(type.content) !== ENVELOPED_DATA || explicit === undefined) throw new MalformedEnvelope('not EnvelopedData');
  const parts = children(expect(children(explicit.content)[0], SEQUENCE).content).filter((part) => part.tag !== 0xa0); // originatorInfo
  const [, recipientInfos, contentInfo] = parts;
  if (recipientInfos === undefined || contentInfo === undefined) throw new MalformedEnvelope('incomplete EnvelopedData');
  const encryptedKeys = children(recipientInfos.content).flatMap((info) => {
    if (info.tag !== SEQUENCE) return []; // other kinds of recipient
    const [, , algorithm, encryptedKey] = children(info.content);
    const oid = algorithm === undefined ? undefined : children(algorithm.content)[0];
    return oid !== undefined && oidString(oid.content) === RSA_ENCRYPTION && encryptedKey?.tag === OCTET_STRING ? [encryptedKey.content] : [];
  });
  const [, algorithm, encrypted] = children(expect(contentInfo, SEQUENCE).content);
  const [cipherOid, parameters] = children(expect(algorithm, SEQUENCE).content);
  const cipher = cipherOid === undefined ? undefined : CONTENT_CIPHERS[oidString(cipherOid.content)];
  if (cipher === undefined || parameters === undefined || encrypted === undefined) throw new MalformedEnvelope('unsupported content encryption');
  return { encryptedKeys, cipher, ...cipherParameters(cipher.name, parameters), content: encryptedContent(encrypted) };
}

/**
 * CBC: the IV. GCM: GCMParameters { nonce, icvLen DEFAULT 12 } (RFC 5084), which Go's writer
 * nests in a second, primitive-tagged SEQUENCE, its nonce tagged [4] instead of OCTET STRING.
 */
function cipherParameters(name: string, parameters: DerElement): { iv: Buffer; tagLength: number } {
  if (!name.endsWith('gcm')) return { iv: expect(parameters, OCTET_STRING).content, tagLength: 0 };
  let sequence = parameters;
  if (sequence.content[0] === SEQUENCE) sequence = readElement(sequence.content, 0);
  const [nonce, tagLength] = children(sequence.content);
  if (nonce === undefined || (nonce.tag !== OCTET_STRING && nonce.tag !== GO_NONCE_TAG)) throw new MalformedEnvelope('no GCM nonce');
  const length = tagLength === undefined ? 12 : tagLength.content.readUIntBE(0, Math.min(tagLength.content.length, 6));
  // Only what Go's pkcs7 opens (cipher.NewGCM): a 12-byte nonce and a 16-byte tag. A shorter tag
  // would let the random content key of a wrong RSA key (implicit rejection) through far sooner.
  if (nonce.content.length !== GCM_NONCE_BYTES || length !== GCM_TAG_BYTES)
    throw new MalformedEnvelope('GCM parameters other than a 12-byte nonce and a 16-byte tag');
  return { iv: nonce.content, tagLength: length };
}

/** `[0] IMPLICIT OCTET STRING`: primitive, or constructed from OCTET STRING pieces (Go's writer). */
function encryptedContent(element: DerElement): Buffer {
  if (element.tag === 0x80) return element.content;
  if (element.tag === 0xa0) return Buffer.concat(children(element.content).map((piece) => expect(piece, OCTET_STRING).content));
  throw new MalformedEnvelope('no encrypted content');
}

function expect(element: DerElement | undefined, tag: number): DerElement {
  if (element?.tag !== tag) throw new MalformedEnvelope(`expected tag ${tag}`);
  return element;
}

/** Undefined when this key does not open it; a ProxyError (this Node cannot decrypt at all) goes on. */
function attempt<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    return undefined;
  }
}
