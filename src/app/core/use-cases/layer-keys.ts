import { ProxyError } from '../../../domain/errors.js';
import { layerCipher, type LayerCipher, wrappedKeys } from '../../../domain/layer-encryption.js';
import { type Descriptor } from '../../../domain/manifest.js';
import { type KeyUnwrapper } from '../../../ports/key-unwrapper.js';

/**
 * Finds the cipher of an encrypted layer with the decryption keys given at start: each wrapped
 * copy of its key is offered to the unwrappers of its scheme (JWE, then PKCS#7, then OpenPGP),
 * and the first that opens one decides, as in ocicrypt.
 */
export class LayerKeys {
  /**
   * Each layer's answer, kept with its descriptor (so for as long as its image is resolved): an
   * RSA or ECDH operation per wrapped key and key is paid once, not at every read and `/layers`.
   * It takes no request's signal, since it is shared.
   */
  private readonly ciphers = new WeakMap<Descriptor, Promise<LayerCipher>>();

  constructor(private readonly unwrappers: readonly KeyUnwrapper[]) {}

  /** Rejects with `no-decryption-key` when no key opens the layer, `decryption-failed` when its options are unusable. */
  cipherFor(layer: Descriptor): Promise<LayerCipher> {
    let cipher = this.ciphers.get(layer);
    if (cipher === undefined) {
      cipher = this.unwrap(layer);
      this.ciphers.set(layer, cipher);
    }
    return cipher;
  }

  private async unwrap(layer: Descriptor): Promise<LayerCipher> {
    const wrapped = wrappedKeys(layer.digest, layer.annotations);
    for (const entry of wrapped) {
      for (const unwrapper of this.unwrappers.filter((u) => u.scheme === entry.scheme)) {
        const privateOptions = await unwrapper.unwrap(entry.bytes);
        if (privateOptions !== undefined) return layerCipher(layer.digest, layer.annotations, privateOptions);
      }
    }
    const schemes = [...new Set(wrapped.map((entry) => entry.scheme))].join(', ') || 'no scheme: it has no wrapped keys';
    const given = this.unwrappers.length === 0 ? 'no --decryption-key was given' : 'none of the --decryption-key keys opens it';
    throw new ProxyError('no-decryption-key', `layer ${layer.digest} is encrypted (keys wrapped for ${schemes}) and ${given}`);
  }

  /** Whether a key opens the layer, for `/layers`. */
  async fits(layer: Descriptor): Promise<boolean> {
    try {
      await this.cipherFor(layer);
      return true;
    } catch (err) {
      if (err instanceof ProxyError && (err.code === 'no-decryption-key' || err.code === 'decryption-failed')) return false;
      throw err;
    }
  }
}
