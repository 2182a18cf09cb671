import type { PrivateKey } from 'openpgp';
import { type KeyUnwrapper } from '../../ports/key-unwrapper.js';

const openpgp = () => import('openpgp');

/**
 * Private options are a few hundred bytes of JSON. An OpenPGP message may hold a compressed
 * packet, and anyone with the public key can make one that inflates to gigabytes: decompressing
 * stops past this size.
 */
const MAX_PRIVATE_OPTIONS_BYTES = 64 * 1024;

/** `org.opencontainers.image.enc.keys.pgp` entries: binary OpenPGP messages, opened with openpgp.js. */
export class OpenPgpKeyUnwrapper implements KeyUnwrapper {
  readonly scheme = 'pgp';

  constructor(private readonly keys: readonly PrivateKey[]) {}

  async unwrap(wrapped: Uint8Array): Promise<Uint8Array | undefined> {
    const { decrypt, readMessage } = await openpgp();
    try {
      const message = await readMessage({ binaryMessage: wrapped });
      const config = { maxDecompressedMessageSize: MAX_PRIVATE_OPTIONS_BYTES };
      const { data } = await decrypt({ message, decryptionKeys: [...this.keys], format: 'binary', config });
      return data;
    } catch {
      return undefined; // none of the keys is a recipient, or not a message they open
    }
  }
}
