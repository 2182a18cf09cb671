import { type Digest } from './digest.js';
import { ProxyError } from './errors.js';

/**
 * OCI encrypted layers as ocicrypt writes them (what `skopeo copy --encryption-key` makes): the
 * layer is AES-256-CTR ciphertext of the plain (compressed) layer, typed `…+encrypted`, with an
 * HMAC-SHA256 over the ciphertext. The symmetric key and nonce ("private options", JSON) are
 * wrapped for each recipient in the `org.opencontainers.image.enc.keys.<scheme>` annotations;
 * the cipher name and HMAC ("public options", JSON) are in `…enc.pubopts`. Both are base64.
 */

const ENCRYPTED_SUFFIX = '+encrypted';

/** containers/image decides encryption from the media type alone (`isOciEncrypted`). */
export function isEncryptedMediaType(mediaType: string): boolean {
  return mediaType.endsWith(ENCRYPTED_SUFFIX);
}

/** The media type of the layer once decrypted: `…tar+gzip+encrypted` → `…tar+gzip`. */
export function decryptedMediaType(mediaType: string): string {
  return isEncryptedMediaType(mediaType) ? mediaType.slice(0, -ENCRYPTED_SUFFIX.length) : mediaType;
}

export type KeyWrapScheme = 'jwe' | 'pkcs7' | 'pgp';

/** Where each scheme's wrapped keys are, in the order they are tried. */
export const KEY_WRAP_ANNOTATIONS: readonly (readonly [KeyWrapScheme, string])[] = [
  ['jwe', 'org.opencontainers.image.enc.keys.jwe'],
  ['pkcs7', 'org.opencontainers.image.enc.keys.pkcs7'],
  ['pgp', 'org.opencontainers.image.enc.keys.pgp'],
];
const PUBLIC_OPTIONS = 'org.opencontainers.image.enc.pubopts';

/** The one layer cipher ocicrypt defines. */
const AES_256_CTR_HMAC_SHA256 = 'AES_256_CTR_HMAC_SHA256';

export interface WrappedKey {
  readonly scheme: KeyWrapScheme;
  /** One recipient's wrapped copy of the private options (a JWE, a PKCS#7 envelope, an OpenPGP message). */
  readonly bytes: Uint8Array;
}

type Annotations = Readonly<Record<string, string>> | undefined;

/** Every wrapped copy of a layer's private options: each annotation is a comma-separated list of base64 entries. */
export function wrappedKeys(digest: Digest, annotations: Annotations): WrappedKey[] {
  return KEY_WRAP_ANNOTATIONS.flatMap(([scheme, name]) => {
    const value = annotations?.[name];
    if (value === undefined || value === '') return [];
    return value.split(',').map((entry) => ({ scheme, bytes: base64(entry, `layer ${digest}: annotation ${name}`) }));
  });
}

/** What decrypting one layer takes. */
export interface LayerCipher {
  /** AES-256 key, also the HMAC key. */
  readonly key: Uint8Array;
  /** The CTR mode's initial counter block. */
  readonly nonce: Uint8Array;
  /** The HMAC-SHA256 of the ciphertext the encrypter recorded. */
  readonly hmac: Uint8Array;
}

/**
 * The cipher of a layer from its public options (annotation) and the private options a key
 * unwrapped. A nonce is looked up in the public options first, as ocicrypt does; where ocicrypt
 * would make up a random one when there is none (and so decrypt to noise that its HMAC, taken
 * over the ciphertext, does not catch), this refuses.
 */
export function layerCipher(digest: Digest, annotations: Annotations, privateOptions: Uint8Array): LayerCipher {
  const what = `layer ${digest}`;
  const encoded = annotations?.[PUBLIC_OPTIONS];
  if (encoded === undefined || encoded === '') throw invalid(`${what} has no ${PUBLIC_OPTIONS} annotation, so its cipher is unknown`);
  const publicOptions = jsonObject(base64(encoded, `${what}: annotation ${PUBLIC_OPTIONS}`), `${what}: ${PUBLIC_OPTIONS}`);
  const privateParsed = jsonObject(privateOptions, `${what}: the unwrapped private options`);
  const cipher = publicOptions['cipher'];
  if (cipher !== AES_256_CTR_HMAC_SHA256) {
    const named =
      typeof cipher === 'string'
        ? JSON.stringify(cipher)
        : cipher === undefined || cipher === null
          ? 'none'
          : `of type ${Array.isArray(cipher) ? 'array' : typeof cipher}`;
    throw invalid(`${what}: cipher ${named} is not supported (only ${AES_256_CTR_HMAC_SHA256})`);
  }
  const key = bytesField(privateParsed, 'symkey', `${what}: private options`);
  const nonce = cipherOption(publicOptions, 'nonce', `${what}: public options`) ?? cipherOption(privateParsed, 'nonce', `${what}: private options`);
  const hmac = bytesField(publicOptions, 'hmac', `${what}: public options`);
  if (key?.length !== 32) throw invalid(`${what}: the symmetric key is ${key?.length ?? 0} bytes, not 32`);
  if (nonce?.length !== 16) throw invalid(`${what}: the nonce is ${nonce?.length ?? 0} bytes, not 16`);
  if (hmac?.length !== 32) throw invalid(`${what}: the HMAC is ${hmac?.length ?? 0} bytes, not 32`);
  return { key, nonce, hmac };
}

function invalid(message: string): ProxyError {
  return new ProxyError('decryption-failed', message);
}

/** Go's base64.StdEncoding, which ocicrypt and encoding/json's []byte use: padded, no other characters. */
function base64(text: string, what: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalid(`${what} is not base64`);
  return Buffer.from(text, 'base64');
}

function jsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid(`${what} are not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`${what} are not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** A Go `[]byte` field: base64 in a string, or null/absent. */
function bytesField(object: Record<string, unknown>, name: string, what: string): Uint8Array | undefined {
  const value = object[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${what}: ${name} is not a base64 string`);
  return base64(value, `${what}: ${name}`);
}

function cipherOption(object: Record<string, unknown>, name: string, what: string): Uint8Array | undefined {
  const options = object['cipheroptions'];
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object' || Array.isArray(options)) throw invalid(`${what}: cipheroptions is not an object`);
  return bytesField(options as Record<string, unknown>, name, `${what}: cipheroptions`);
}
