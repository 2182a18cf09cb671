import { createPrivateKey, type JsonWebKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { PrivateKey } from 'openpgp';

/**
 * A `--decryption-key` file as ocicrypt accepts it: a private key (PEM, DER or JWK; PKCS#1,
 * PKCS#8 or SEC 1; encrypted with a password or not), an X.509 certificate (ocicrypt wants the
 * recipient's beside its key for PKCS#7), or an OpenPGP secret keyring (binary, as `gpg
 * --export-secret-keys` writes it, or armored). ocicrypt skips a file it does not recognise;
 * here it stops the start, since a key that is silently unused is a layer that will not open.
 */
export type DecryptionKey =
  | { readonly kind: 'private-key'; readonly path: string; readonly key: KeyObject }
  | { readonly kind: 'certificate'; readonly path: string; readonly certificate: X509Certificate }
  | { readonly kind: 'openpgp'; readonly path: string; readonly keys: readonly PrivateKey[] };

/** A key file that cannot be used; the message names the file and never the password. */
export class KeyFileProblem extends Error {}

// openpgp.js takes ~15 ms and ~8 MiB to load: only an OpenPGP key file needs it.
const openpgp = () => import('openpgp');

export async function parseDecryptionKey(path: string, bytes: Uint8Array, password: Uint8Array | undefined): Promise<DecryptionKey> {
  const data = Buffer.from(bytes);
  const text = data.toString('latin1');
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (pem !== undefined) return fromPem(path, data, pem, password);
  if (text.trimStart().startsWith('{'))
    return { kind: 'private-key', path, key: privateKey(path, () => createPrivateKey({ key: jwk(path, text), format: 'jwk' })) };
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    const key = attempt(() => createPrivateKey({ key: data, format: 'der', type, ...(password === undefined ? {} : { passphrase: Buffer.from(password) }) }));
    if (key !== undefined) return { kind: 'private-key', path, key: usable(path, key) };
  }
  const certificate = attempt(() => new X509Certificate(data));
  if (certificate !== undefined) return { kind: 'certificate', path, certificate };
  const keys = await openpgpKeys(path, { binaryKeys: data }, password);
  if (keys !== undefined) return { kind: 'openpgp', path, keys };
  throw new KeyFileProblem(`${path}: not a private key (PEM, DER or JWK), an X.509 certificate or an OpenPGP secret key`);
}

async function fromPem(path: string, data: Buffer, label: string, password: Uint8Array | undefined): Promise<DecryptionKey> {
  if (label === 'CERTIFICATE') {
    const certificate = attempt(() => new X509Certificate(data));
    if (certificate === undefined) throw new KeyFileProblem(`${path}: a malformed X.509 certificate`);
    return { kind: 'certificate', path, certificate };
  }
  if (label === 'PGP PRIVATE KEY BLOCK') {
    const keys = await openpgpKeys(path, { armoredKeys: data.toString('utf8') }, password);
    if (keys === undefined) throw new KeyFileProblem(`${path}: a malformed OpenPGP secret key`);
    return { kind: 'openpgp', path, keys };
  }
  if (label.includes('PUBLIC KEY')) throw new KeyFileProblem(`${path}: a public key; decrypting needs the private key`);
  if (!label.endsWith('PRIVATE KEY')) throw new KeyFileProblem(`${path}: a PEM ${label}, not a private key or certificate`);
  const key = privateKey(path, () => createPrivateKey({ key: data, format: 'pem', ...(password === undefined ? {} : { passphrase: Buffer.from(password) }) }));
  return { kind: 'private-key', path, key };
}

/** Parses a private key, telling a missing or wrong password from a malformed key. */
function privateKey(path: string, parse: () => KeyObject): KeyObject {
  try {
    return usable(path, parse());
  } catch (err) {
    if (err instanceof KeyFileProblem) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') {
      throw new KeyFileProblem(`${path}: the private key is protected by a password: give it as ${path}:PASSWORD`);
    }
    if (code === 'ERR_OSSL_BAD_DECRYPT') throw new KeyFileProblem(`${path}: wrong password for the private key`);
    throw new KeyFileProblem(`${path}: a malformed private key (${(err as Error).message})`);
  }
}

/** ocicrypt wraps layer keys for RSA (RSA-OAEP, PKCS#7) and EC (ECDH-ES) keys only. */
function usable(path: string, key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    throw new KeyFileProblem(`${path}: a ${key.asymmetricKeyType ?? 'unknown'} key; encrypted layers are opened with RSA or EC keys`);
  }
  return key;
}

function jwk(path: string, text: string): JsonWebKey {
  try {
    return JSON.parse(text) as JsonWebKey;
  } catch {
    throw new KeyFileProblem(`${path}: not JSON, so not a JWK private key`);
  }
}

function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/** The secret keys of an OpenPGP keyring, decrypted with the password; undefined when it is not one. */
async function openpgpKeys(
  path: string,
  source: { binaryKeys: Uint8Array } | { armoredKeys: string },
  password: Uint8Array | undefined,
): Promise<PrivateKey[] | undefined> {
  const { readPrivateKeys, decryptKey } = await openpgp();
  let keys: PrivateKey[];
  try {
    keys = 'binaryKeys' in source ? await readPrivateKeys(source) : await readPrivateKeys(source);
  } catch {
    return undefined;
  }
  return Promise.all(
    keys.map(async (key) => {
      if (key.isDecrypted()) return key;
      if (password === undefined) throw new KeyFileProblem(`${path}: the OpenPGP secret key is protected by a password: give it as ${path}:PASSWORD`);
      try {
        return await decryptKey({ privateKey: key, passphrase: Buffer.from(password).toString('utf8') });
      } catch {
        throw new KeyFileProblem(`${path}: wrong password for the OpenPGP secret key`);
      }
    }),
  );
}
