import { createHash, type KeyObject } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import {
  type Signature,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_CHAIN_ANNOTATION,
  SIGSTORE_PAYLOAD_MEDIA_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
} from '../../domain/signatures/signature.js';
import { type FulcioRoot, verifyFulcioCertificate } from './fulcio.js';
import { type PkiRoot, verifyPkiCertificate } from './pki.js';
import { type SigstorePublicKey, verifiesWith } from './public-keys.js';
import { verifyRekorSet } from './rekor-set.js';

export type SigstoreSignature = Extract<Signature, { format: 'sigstore' }>;

/** A verified sigstore signature: its payload, and which trusted key or certificate made it. */
export interface SigstoreVerified {
  readonly payload: Uint8Array;
  readonly signer: string;
  /** `sha256:<hex>` of the trusted public key's DER SubjectPublicKeyInfo (key-based trust). */
  readonly keyFingerprint?: string;
  /** The certificate's subject email and OIDC issuer (Fulcio trust). */
  readonly certificateIdentity?: string;
  readonly certificateIssuer?: string;
}

/**
 * Key-based sigstore verification: the layer must be a cosign simple-signing payload and its
 * `dev.cosignproject.cosign/signature` annotation a signature over the raw payload bytes by one
 * of the trusted keys. With Rekor keys, the SET must also log this signature by that key (c/image
 * picks the first trusted key the SET names, then checks the payload with it alone).
 * Rejects with `policy-rejected`, saying why.
 */
export function verifySigstoreWithKeys(signature: SigstoreSignature, keys: readonly SigstorePublicKey[], rekorKeys?: readonly KeyObject[]): SigstoreVerified {
  const bytes = signatureBytes(signature);
  let candidates = keys;
  if (rekorKeys !== undefined) {
    const bundle = requiredAnnotation(signature, SIGSTORE_BUNDLE_ANNOTATION);
    const failures: string[] = [];
    const logged = keys.find((key) => {
      try {
        verifyRekorSet(rekorKeys, { bundle, keyOrCertificatePem: spkiPem(key.key), base64Signature: base64Annotation(signature), payload: signature.payload });
        return true;
      } catch (err) {
        if (!(err instanceof ProxyError)) throw err;
        failures.push(`${key.description}: ${err.message}`);
        return false;
      }
    });
    if (logged === undefined) throw new ProxyError('policy-rejected', `bad signature: no trusted key matches the Rekor SET (${failures.join('; ')})`);
    candidates = [logged];
  }
  const signer = candidates.find((key) => verifiesWith(key, signature.payload, bytes));
  if (signer === undefined) {
    throw new ProxyError(
      'policy-rejected',
      `bad signature or unknown key: the sigstore signature verifies with none of the ${candidates.length} trusted key(s)`,
    );
  }
  return { payload: signature.payload, signer: signer.description, keyFingerprint: keyFingerprint(signer.key) };
}

/**
 * Fulcio trust (c/image's verifyRekorFulcio): the SET must log this signature with this
 * certificate, the certificate must be valid for the policy's CA, issuer and email at the SET's
 * integration time, and the payload must verify with the certificate's key.
 */
export function verifySigstoreWithFulcio(signature: SigstoreSignature, fulcio: FulcioRoot, rekorKeys: readonly KeyObject[]): SigstoreVerified {
  const bytes = signatureBytes(signature);
  const bundle = requiredAnnotation(signature, SIGSTORE_BUNDLE_ANNOTATION);
  const certificate = requiredAnnotation(signature, SIGSTORE_CERTIFICATE_ANNOTATION);
  const entry = verifyRekorSet(rekorKeys, {
    bundle,
    keyOrCertificatePem: certificate,
    base64Signature: base64Annotation(signature),
    payload: signature.payload,
  });
  const identity = verifyFulcioCertificate(fulcio, entry.integratedTime, certificate, signature.annotations[SIGSTORE_CHAIN_ANNOTATION]);
  if (!verifiesWith(identity.publicKey, signature.payload, bytes)) {
    throw new ProxyError('policy-rejected', `bad signature: the payload does not verify with the key of the ${identity.publicKey.description}`);
  }
  return {
    payload: signature.payload,
    signer: identity.publicKey.description,
    certificateIdentity: identity.subjectEmail,
    certificateIssuer: identity.oidcIssuer,
  };
}

/** PKI trust (c/image's verifyPKI): the certificate checked against the policy's roots now, then the payload with its key. */
export function verifySigstoreWithPki(signature: SigstoreSignature, pki: PkiRoot): SigstoreVerified {
  const bytes = signatureBytes(signature);
  const certificate = requiredAnnotation(signature, SIGSTORE_CERTIFICATE_ANNOTATION);
  const key = verifyPkiCertificate(pki, certificate, signature.annotations[SIGSTORE_CHAIN_ANNOTATION]);
  if (!verifiesWith(key, signature.payload, bytes))
    throw new ProxyError('policy-rejected', `bad signature: the payload does not verify with the key of the ${key.description}`);
  return { payload: signature.payload, signer: key.description, certificateIdentity: key.identity };
}

/** The decoded signature annotation of a cosign payload layer. */
export function signatureBytes(signature: SigstoreSignature): Uint8Array {
  if (signature.mimeType !== SIGSTORE_PAYLOAD_MEDIA_TYPE) {
    throw new ProxyError('policy-rejected', `unexpected sigstore payload type ${JSON.stringify(signature.mimeType)}`);
  }
  const encoded = base64Annotation(signature);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new ProxyError('policy-rejected', `bad signature: ${SIGSTORE_SIGNATURE_ANNOTATION} is not base64`);
  return Buffer.from(encoded, 'base64');
}

function base64Annotation(signature: SigstoreSignature): string {
  const encoded = signature.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (encoded === undefined) throw new ProxyError('policy-rejected', `no signature: the sigstore layer lacks the ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  return encoded;
}

function requiredAnnotation(signature: SigstoreSignature, name: string): string {
  const value = signature.annotations[name];
  if (value === undefined) throw new ProxyError('policy-rejected', `bad signature: the sigstore layer lacks the ${name} annotation`);
  return value;
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}
