import type { Key } from 'openpgp';
import { ProxyError } from '../../domain/errors.js';

/** A verified simple-signing blob: the signed bytes and who signed them. */
export interface GpgVerified {
  readonly payload: Uint8Array;
  /** Upper-case hex fingerprint of the trusted (primary) key whose key or subkey made the signature. */
  readonly fingerprint: string;
}

// openpgp.js takes ~15 ms and ~8 MiB to load; only a `signedBy` requirement needs it, so it is
// loaded on the first keyring read instead of at start-up.
const openpgp = () => import('openpgp');

/**
 * Checks OpenPGP signed messages against a fixed set of trusted public keys, with openpgp.js
 * (never by running gpg). Keyrings may be binary (`gpg --export`) or ASCII-armored.
 */
export class GpgVerifier {
  private constructor(private readonly keys: readonly Key[]) {}

  /** Reads every key in each keyring; `describe(i)` names keyring i in errors. */
  static async fromKeyrings(keyrings: readonly Uint8Array[], describe: (index: number) => string): Promise<GpgVerifier> {
    const keys: Key[] = [];
    for (const [index, keyring] of keyrings.entries()) {
      try {
        keys.push(...(await readKeyring(keyring)));
      } catch (err) {
        throw new ProxyError('policy-invalid', `${describe(index)}: not an OpenPGP public keyring (${(err as Error).message})`, { cause: err });
      }
    }
    return new GpgVerifier(keys);
  }

  get fingerprints(): string[] {
    return this.keys.map((key) => key.getFingerprint().toUpperCase());
  }

  /** Rejects with `policy-rejected` saying whether the key is unknown or the signature bad. */
  async verify(blob: Uint8Array): Promise<GpgVerified> {
    const { readMessage, verify } = await openpgp();
    let message;
    try {
      message = await readMessage({ binaryMessage: blob });
    } catch (err) {
      throw new ProxyError('policy-rejected', `not an OpenPGP message (${(err as Error).message})`, { cause: err });
    }
    const signingKeyIds = message.getSigningKeyIDs();
    const trusted = this.keys.find((key) => signingKeyIds.some((id) => key.getKeys(id).length > 0));
    if (trusted === undefined) {
      const ids = signingKeyIds.map((id) => id.toHex().toUpperCase()).join(', ') || 'no key';
      throw new ProxyError('policy-rejected', `signed by unknown key ${ids} (trusted: ${this.fingerprints.join(', ') || 'none'})`);
    }
    try {
      const result = await verify({ message, verificationKeys: [trusted], expectSigned: true, format: 'binary' });
      for (const signature of result.signatures) await signature.verified;
      return { payload: result.data, fingerprint: trusted.getFingerprint().toUpperCase() };
    } catch (err) {
      throw new ProxyError('policy-rejected', `bad signature by key ${trusted.getFingerprint().toUpperCase()} (${(err as Error).message})`, { cause: err });
    }
  }
}

async function readKeyring(keyring: Uint8Array): Promise<Key[]> {
  const { readKeys } = await openpgp();
  const text = Buffer.from(keyring).toString('latin1');
  if (text.trimStart().startsWith('-----BEGIN PGP')) return readKeys({ armoredKeys: Buffer.from(keyring).toString('utf8') });
  return readKeys({ binaryKeys: keyring });
}
