import { type KeyObject } from 'node:crypto';
import type { DecryptOptions } from 'jose';
import { type KeyUnwrapper } from '../../ports/key-unwrapper.js';

// Loaded on first use: only a session with decryption keys and an encrypted layer needs it.
const jose = () => import('jose');

/** What ocicrypt's JWE key wrapper accepts when it unwraps (RFC 7518 content encryptions, its key algorithms). */
const OPTIONS: DecryptOptions = {
  keyManagementAlgorithms: ['RSA-OAEP', 'RSA-OAEP-256', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'],
  contentEncryptionAlgorithms: ['A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512', 'A128GCM', 'A192GCM', 'A256GCM'],
};

/**
 * `org.opencontainers.image.enc.keys.jwe` entries: a JWE (go-jose's JSON serialization, one
 * recipient per key the layer was encrypted for: RSA-OAEP for RSA keys, ECDH-ES+A256KW for EC
 * keys), opened with jose.
 */
export class JweKeyUnwrapper implements KeyUnwrapper {
  readonly scheme = 'jwe';

  constructor(private readonly keys: readonly KeyObject[]) {}

  async unwrap(wrapped: Uint8Array): Promise<Uint8Array | undefined> {
    const { compactDecrypt, flattenedDecrypt, generalDecrypt } = await jose();
    const text = Buffer.from(wrapped).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined; // the compact serialization, which ocicrypt also reads
    }
    for (const key of this.keys) {
      try {
        if (typeof json !== 'object' || json === null) return (await compactDecrypt(text, key, OPTIONS)).plaintext;
        if ('recipients' in json) return (await generalDecrypt(json as Parameters<typeof generalDecrypt>[0], key, OPTIONS)).plaintext;
        return (await flattenedDecrypt(json as Parameters<typeof flattenedDecrypt>[0], key, OPTIONS)).plaintext;
      } catch {
        // Not this key (or not a JWE any key opens): the next key, then the next wrapped entry.
      }
    }
    return undefined;
  }
}
