import { ProxyError } from '../../domain/errors.js';
import { type Signature, SIGSTORE_PAYLOAD_MEDIA_TYPE, SIGSTORE_SIGNATURE_ANNOTATION } from '../../domain/signatures/signature.js';
import { type SigstorePublicKey, verifiesWith } from './public-keys.js';

export type SigstoreSignature = Extract<Signature, { format: 'sigstore' }>;

/** A verified sigstore signature: its payload, and which trusted key made it. */
export interface SigstoreVerified {
  readonly payload: Uint8Array;
  readonly signer: string;
}

/**
 * Key-based sigstore verification: the layer must be a cosign simple-signing payload and its
 * `dev.cosignproject.cosign/signature` annotation a signature over the raw payload bytes by one
 * of the trusted keys. Rejects with `policy-rejected`, saying why.
 */
export function verifySigstoreWithKeys(signature: SigstoreSignature, keys: readonly SigstorePublicKey[]): SigstoreVerified {
  const bytes = signatureBytes(signature);
  const signer = keys.find((key) => verifiesWith(key, signature.payload, bytes));
  if (signer === undefined) {
    throw new ProxyError('policy-rejected', `bad signature or unknown key: the sigstore signature verifies with none of the ${keys.length} trusted key(s)`);
  }
  return { payload: signature.payload, signer: signer.description };
}

/** The decoded signature annotation of a cosign payload layer. */
export function signatureBytes(signature: SigstoreSignature): Uint8Array {
  if (signature.mimeType !== SIGSTORE_PAYLOAD_MEDIA_TYPE) {
    throw new ProxyError('policy-rejected', `unexpected sigstore payload type ${JSON.stringify(signature.mimeType)}`);
  }
  const encoded = signature.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (encoded === undefined) throw new ProxyError('policy-rejected', `no signature: the sigstore layer lacks the ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new ProxyError('policy-rejected', `bad signature: ${SIGSTORE_SIGNATURE_ANNOTATION} is not base64`);
  return Buffer.from(encoded, 'base64');
}
