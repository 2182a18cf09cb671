import { type KeyWrapScheme } from '../domain/layer-encryption.js';

/**
 * Opens a wrapped copy of an encrypted layer's private options with the decryption keys given at
 * start, for one key-wrapping scheme (JWE, PKCS#7, OpenPGP).
 */
export interface KeyUnwrapper {
  readonly scheme: KeyWrapScheme;
  /** The private options (JSON) the wrapped copy holds; undefined when none of the keys opens it. */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array | undefined>;
}
