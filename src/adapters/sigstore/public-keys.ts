import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';

/** A sigstore public key (sigstore's LoadVerifier with SHA-256): ECDSA, RSA PKCS#1 v1.5 or Ed25519. */
export interface SigstorePublicKey {
  readonly key: KeyObject;
  /** For messages, e.g. `ECDSA P-256 key from key file /etc/k.pub`. */
  readonly description: string;
}

/** Parses one PEM public key; `where` names its origin. */
export function parseSigstorePublicKey(pem: Uint8Array, where: string): SigstorePublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(pem), format: 'pem' });
  } catch (err) {
    throw new ProxyError('policy-invalid', `${where}: not a PEM public key (${(err as Error).message})`, { cause: err });
  }
  switch (key.asymmetricKeyType) {
    case 'ec':
      return { key, description: `ECDSA ${key.asymmetricKeyDetails?.namedCurve ?? ''} key from ${where}`.replace('  ', ' ') };
    case 'rsa':
      return { key, description: `RSA key from ${where}` };
    case 'ed25519':
      return { key, description: `Ed25519 key from ${where}` };
    default:
      throw new ProxyError(
        'policy-invalid',
        `${where}: ${key.asymmetricKeyType ?? 'unknown'} keys are not supported for sigstore (ECDSA, RSA or Ed25519 only)`,
      );
  }
}

/** Whether `signature` is the key's signature over exactly `payload`. */
export function verifiesWith(publicKey: SigstorePublicKey, payload: Uint8Array, signature: Uint8Array): boolean {
  const { key } = publicKey;
  try {
    switch (key.asymmetricKeyType) {
      case 'ec':
        return verify('sha256', payload, { key, dsaEncoding: 'der' }, signature);
      case 'ed25519':
        return verify(null, payload, key, signature);
      default:
        return verify('sha256', payload, key, signature);
    }
  } catch {
    return false;
  }
}
