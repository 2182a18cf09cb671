import { ProxyError } from '../errors.js';
import { isJsonObject } from './strict-json.js';

/** One signature as found, before any verification (containers/image internal/signature). */
export type Signature =
  | { readonly format: 'simple-signing'; readonly blob: Uint8Array }
  | {
      readonly format: 'sigstore';
      readonly mimeType: string;
      readonly payload: Uint8Array;
      readonly annotations: Readonly<Record<string, string>>;
    };

export const SIGSTORE_PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGSTORE_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const SIGSTORE_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const SIGSTORE_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/** First bytes of an OpenPGP message: old- and new-format packet tags that can start one. */
const OPENPGP_FIRST_BYTES = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0xc8, 0x90, 0x91, 0x92, 0x3d, 0xc4, 0x88, 0x89, 0x8a, 0x8b, 0xc2]);

/**
 * Reads a stored signature blob: a bare OpenPGP message is simple signing (the legacy format);
 * otherwise a 0x00 byte, the format name and a newline precede the body.
 */
export function parseSignatureBlob(blob: Uint8Array, where: string): Signature {
  const first = blob[0];
  if (first === undefined) throw invalidSignature(where, 'the signature is empty');
  if (OPENPGP_FIRST_BYTES.has(first)) return { format: 'simple-signing', blob };
  if (first !== 0) throw invalidSignature(where, 'unrecognized signature format');
  const newline = blob.indexOf(0x0a);
  if (newline === -1) throw invalidSignature(where, 'signature format name is not terminated');
  const format = Buffer.from(blob.subarray(1, newline)).toString('utf8');
  const body = blob.subarray(newline + 1);
  switch (format) {
    case 'simple-signing':
      return { format: 'simple-signing', blob: body };
    case 'sigstore-json':
      return sigstoreJson(body, where);
    default:
      throw invalidSignature(where, `unsupported signature format ${JSON.stringify(format)}`);
  }
}

function sigstoreJson(body: Uint8Array, where: string): Signature {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw invalidSignature(where, 'sigstore-json signature is not valid JSON');
  }
  if (!isJsonObject(value) || typeof value['mimeType'] !== 'string' || typeof value['payload'] !== 'string') {
    throw invalidSignature(where, 'sigstore-json signature lacks mimeType or payload');
  }
  const annotations: Record<string, string> = {};
  const rawAnnotations = value['annotations'];
  if (rawAnnotations !== undefined && rawAnnotations !== null) {
    if (!isJsonObject(rawAnnotations)) throw invalidSignature(where, 'sigstore-json annotations must be an object');
    for (const [key, annotation] of Object.entries(rawAnnotations)) {
      if (typeof annotation !== 'string') throw invalidSignature(where, `sigstore-json annotation ${key} must be a string`);
      annotations[key] = annotation;
    }
  }
  return { format: 'sigstore', mimeType: value['mimeType'], payload: Buffer.from(value['payload'], 'base64'), annotations };
}

function invalidSignature(where: string, message: string): ProxyError {
  return new ProxyError('policy-rejected', `${where}: ${message}`);
}
