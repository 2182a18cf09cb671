import { digestOf, isDigest } from '../digest.js';
import { ProxyError } from '../errors.js';
import { checkKeys, isJsonObject, parseStrictJson } from './strict-json.js';

/** What a signature claims, once its payload has been read (containers-signature(5)). */
export interface SignatureClaims {
  readonly manifestDigest: string;
  readonly dockerReference: string;
  readonly creator: string | undefined;
  readonly timestamp: number | undefined;
}

export const SIMPLE_SIGNING_TYPE = 'atomic container signature';
export const COSIGN_TYPE = 'cosign container image signature';

/**
 * Parses a payload as containers/image does: `critical` and its parts with exactly the expected
 * keys, `optional` free-form but with an integer timestamp. Cosign writes `"optional": null`,
 * which only the cosign format accepts.
 */
export function parseSignaturePayload(payload: Uint8Array, kind: 'simple-signing' | 'cosign'): SignatureClaims {
  const where = 'signature payload';
  const raw = parseStrictJson(Buffer.from(payload).toString('utf8'), where, 'policy-rejected');
  if (!isJsonObject(raw)) throw rejected(`${where} is not a JSON object`);
  checkKeys(raw, ['critical', 'optional'], ['critical', 'optional'], where, 'policy-rejected');
  const { creator, timestamp } = optionalPart(raw['optional'], kind);
  const critical = object(raw['critical'], 'critical');
  checkKeys(critical, ['type', 'image', 'identity'], ['type', 'image', 'identity'], `${where}: critical`, 'policy-rejected');
  const expectedType = kind === 'cosign' ? COSIGN_TYPE : SIMPLE_SIGNING_TYPE;
  const type = critical['type'];
  // Checked before it is quoted: an untrusted value of any other shape (an array nested 100000 deep) cannot be printed safely.
  if (typeof type !== 'string') throw rejected(`${where}: critical.type must be a string`);
  if (type !== expectedType) throw rejected(`${where}: unrecognized signature type ${JSON.stringify(type)}`);
  const image = object(critical['image'], 'critical.image');
  checkKeys(image, ['docker-manifest-digest'], ['docker-manifest-digest'], `${where}: critical.image`, 'policy-rejected');
  const identity = object(critical['identity'], 'critical.identity');
  checkKeys(identity, ['docker-reference'], ['docker-reference'], `${where}: critical.identity`, 'policy-rejected');
  const manifestDigest = image['docker-manifest-digest'];
  const dockerReference = identity['docker-reference'];
  if (typeof manifestDigest !== 'string') throw rejected(`${where}: critical.image.docker-manifest-digest must be a string`);
  if (typeof dockerReference !== 'string') throw rejected(`${where}: critical.identity.docker-reference must be a string`);
  return { manifestDigest, dockerReference, creator, timestamp };
}

/** Whether the manifest bytes hash to the digest the signature names, in that digest's algorithm. */
export function claimsManifest(claims: SignatureClaims, manifest: Uint8Array): boolean {
  if (!isDigest(claims.manifestDigest)) return false;
  const algorithm = claims.manifestDigest.slice(0, claims.manifestDigest.indexOf(':')) as 'sha256' | 'sha384' | 'sha512';
  return digestOf(manifest, algorithm) === claims.manifestDigest;
}

function optionalPart(value: unknown, kind: 'simple-signing' | 'cosign'): { creator: string | undefined; timestamp: number | undefined } {
  if (value === null && kind === 'cosign') return { creator: undefined, timestamp: undefined };
  const optional = object(value, 'optional');
  const creator = optional['creator'];
  const timestamp = optional['timestamp'];
  if (creator !== undefined && typeof creator !== 'string') throw rejected('signature payload: optional.creator must be a string');
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isInteger(timestamp))) {
    throw rejected('signature payload: optional.timestamp is not an integer');
  }
  return { creator, timestamp };
}

function object(value: unknown, key: string): Record<string, unknown> {
  if (!isJsonObject(value)) throw rejected(`signature payload: ${key} must be a JSON object`);
  return value;
}

function rejected(message: string): ProxyError {
  return new ProxyError('policy-rejected', message);
}
