import { type DecryptionKey } from '../../adapters/ocicrypt/decryption-keys.js';
import { JweKeyUnwrapper } from '../../adapters/ocicrypt/jwe-key-unwrapper.js';
import { OpenPgpKeyUnwrapper } from '../../adapters/ocicrypt/openpgp-key-unwrapper.js';
import { Pkcs7KeyUnwrapper } from '../../adapters/ocicrypt/pkcs7-key-unwrapper.js';
import { type KeyUnwrapper } from '../../ports/key-unwrapper.js';

/**
 * One unwrapper per scheme the keys can open: every private key for JWE, the RSA ones for
 * PKCS#7 (whose recipients are found by trying, so the certificates ocicrypt also wants are
 * accepted but not needed), the OpenPGP secret keys for OpenPGP.
 */
export function keyUnwrappersFor(keys: readonly DecryptionKey[]): KeyUnwrapper[] {
  const privateKeys = keys.flatMap((key) => (key.kind === 'private-key' ? [key.key] : []));
  const rsaKeys = privateKeys.filter((key) => key.asymmetricKeyType === 'rsa');
  const openpgpKeys = keys.flatMap((key) => (key.kind === 'openpgp' ? key.keys : []));
  return [
    ...(privateKeys.length > 0 ? [new JweKeyUnwrapper(privateKeys)] : []),
    ...(rsaKeys.length > 0 ? [new Pkcs7KeyUnwrapper(rsaKeys)] : []),
    ...(openpgpKeys.length > 0 ? [new OpenPgpKeyUnwrapper(openpgpKeys)] : []),
  ];
}
