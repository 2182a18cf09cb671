import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import { jsonExcerpt, writeJson } from '../../domain/json-writer.js';
import { checkKeys, isJsonObject, parseStrictJson } from '../../domain/signatures/strict-json.js';
import { singlePemBlock } from './pem.js';

/**
 * The Rekor signed entry timestamp (SET) cosign attaches as `dev.sigstore.cosign/bundle`,
 * checked offline as containers/image does: `{SignedEntryTimestamp, Payload}` exactly; the SET
 * is an ECDSA signature over the RFC 8785 canonical JSON of Payload; Payload's body is a
 * hashedrekord 0.0.1 entry naming this signature, this payload's SHA-256 and this key or
 * certificate. Only hashedrekord entries are accepted (c/image reads no other kind).
 */

/** The Rekor entry's facts once its SET verified. */
export interface RekorEntry {
  /** When the log integrated the entry: the time certificates must be valid at. */
  readonly integratedTime: Date;
  readonly logIndex: number;
  readonly logID: string;
}

/** What the entry must match: the untrusted material the signature came with. */
export interface RekorSubject {
  /** The `dev.sigstore.cosign/bundle` annotation. */
  readonly bundle: string;
  /** PEM text of the public key or certificate that made the signature. */
  readonly keyOrCertificatePem: string;
  /** The `dev.cosignproject.cosign/signature` annotation (base64). */
  readonly base64Signature: string;
  readonly payload: Uint8Array;
}

const HASHED_REKORD_VERSION = '0.0.1';

/** A Rekor public key, which c/image requires to be ECDSA. */
export function parseRekorPublicKey(pem: Uint8Array, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(pem), format: 'pem' });
  } catch (err) {
    throw new ProxyError('policy-invalid', `${where}: not a PEM public key (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ec')
    throw new ProxyError('policy-invalid', `${where}: Rekor public keys must be ECDSA, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** Verifies the SET with any of the Rekor keys and matches its entry to the subject; rejects with `policy-rejected`. */
export function verifyRekorSet(rekorKeys: readonly KeyObject[], subject: RekorSubject): RekorEntry {
  const set = parseStrictJson(subject.bundle, 'Rekor SET', 'policy-rejected');
  if (!isJsonObject(set)) throw rejected('the bundle is not a JSON object');
  checkKeys(set, ['SignedEntryTimestamp', 'Payload'], ['SignedEntryTimestamp', 'Payload'], 'bad signature: Rekor SET', 'policy-rejected');
  const setSignature = base64Field(set['SignedEntryTimestamp'], 'SignedEntryTimestamp');
  const canonical = Buffer.from(canonicalJson(set['Payload']), 'utf8');
  if (!rekorKeys.some((key) => verifies(key, canonical, setSignature))) {
    throw rejected(`the SET's signature verifies with none of the ${rekorKeys.length} trusted Rekor key(s)`);
  }

  const payload = JSON.parse(canonical.toString('utf8')) as unknown;
  if (!isJsonObject(payload)) throw rejected('Payload is not a JSON object');
  checkKeys(
    payload,
    ['body', 'integratedTime', 'logIndex', 'logID'],
    ['body', 'integratedTime', 'logIndex', 'logID'],
    'bad signature: Rekor SET Payload',
    'policy-rejected',
  );
  const integratedTime = integerField(payload['integratedTime'], 'integratedTime');
  const logIndex = integerField(payload['logIndex'], 'logIndex');
  if (typeof payload['logID'] !== 'string') throw rejected('Payload.logID is not a string');
  matchEntry(base64Field(payload['body'], 'body'), subject);
  return { integratedTime: new Date(integratedTime * 1000), logIndex, logID: payload['logID'] };
}

function matchEntry(body: Buffer, subject: RekorSubject): void {
  let entry: unknown;
  try {
    entry = JSON.parse(body.toString('utf8'));
  } catch {
    throw rejected('the entry body is not JSON');
  }
  if (!isJsonObject(entry)) throw rejected('the entry body is not a JSON object');
  if (entry['kind'] !== 'hashedrekord') throw rejected(`entry kind ${jsonExcerpt(entry['kind'])} is not supported (hashedrekord only)`);
  if (entry['apiVersion'] === undefined) throw rejected('the entry has no apiVersion');
  if (entry['apiVersion'] !== HASHED_REKORD_VERSION) throw rejected(`hashedrekord version ${jsonExcerpt(entry['apiVersion'])} is not supported`);
  const spec = objectAt(entry, ['spec']);
  const signature = objectAt(spec, ['signature']);
  const publicKey = objectAt(signature, ['publicKey']);

  const logged = singlePemBlock(base64Field(publicKey['content'], 'signature.publicKey.content').toString('latin1'));
  if (logged === undefined) throw rejected('the logged public key is not a single PEM block');
  const presented = singlePemBlock(subject.keyOrCertificatePem);
  if (presented === undefined) throw rejected("the signature's key or certificate is not a single PEM block");
  if (!logged.der.equals(presented.der)) throw rejected('the logged public key or certificate is not the one that made this signature');

  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(subject.base64Signature)) throw rejected('the signature annotation is not base64');
  if (!base64Field(signature['content'], 'signature.content').equals(Buffer.from(subject.base64Signature, 'base64'))) {
    throw rejected('the logged signature is not this signature');
  }

  const hash = objectAt(spec, ['data', 'hash']);
  if (hash['algorithm'] !== 'sha256') throw rejected(`unexpected data.hash.algorithm ${jsonExcerpt(hash['algorithm'])}`);
  if (typeof hash['value'] !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hash['value'])) throw rejected('data.hash.value is not hex');
  const payloadHash = createHash('sha256').update(subject.payload).digest();
  if (!Buffer.from(hash['value'], 'hex').equals(payloadHash)) throw rejected("the logged payload hash is not this payload's");
}

/**
 * RFC 8785: object keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string
 * forms. Written without recursion: the Payload is canonicalized before its signature is checked,
 * so it may be anything, nested as deep as JSON.parse allows.
 */
export function canonicalJson(value: unknown): string {
  return writeJson(value, { sortKeys: true });
}

function verifies(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

function objectAt(value: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let current: unknown = value;
  for (const key of path) {
    current = isJsonObject(current) ? current[key] : undefined;
    if (!isJsonObject(current)) throw rejected(`the hashedrekord entry has no "${path.join('.')}"`);
  }
  return current as Record<string, unknown>;
}

/** Go's []byte in JSON: standard base64 with padding. */
function base64Field(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw rejected(`${name} is not base64`);
  return Buffer.from(value, 'base64');
}

function integerField(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw rejected(`Payload.${name} is not an integer`);
  return value;
}

function rejected(detail: string): ProxyError {
  return new ProxyError('policy-rejected', `bad signature: Rekor SET: ${detail}`);
}
