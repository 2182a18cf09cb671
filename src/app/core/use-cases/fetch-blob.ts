import { Readable } from 'node:stream';
import { type Digest, digestAlgorithm, digestOf } from '../../../domain/digest.js';
import { ProxyError } from '../../../domain/errors.js';
import { checkEmptyCiphertext, DecryptingStream } from '../../../domain/decrypting-stream.js';
import { isEncryptedMediaType } from '../../../domain/layer-encryption.js';
import { type LayerInfo } from '../../../domain/layers.js';
import { VerifyingStream } from '../../../domain/verifying-stream.js';
import { type BlobAnswer } from '../../../ports/image-api.js';
import { decompressedLayer } from './decompressed-layer.js';
import { LayerKeys } from './layer-keys.js';
import { type ResolvedImage } from './resolve-manifest.js';
import { chain } from './stream-chain.js';

/**
 * Serves one blob of a resolved image: the (possibly converted) config from memory, a layer as a
 * verified stream from the source. Digests the image does not reference are not served. An
 * encrypted layer is served as stored unless asked for decrypted or decompressed: it is then
 * decrypted after its own digest check, its key found before anything is fetched.
 */
export class FetchBlob {
  constructor(private readonly keys: LayerKeys = new LayerKeys([])) {}

  async execute(image: ResolvedImage, digest: Digest, options: { decompress?: boolean; decrypt?: boolean } = {}, signal?: AbortSignal): Promise<BlobAnswer> {
    if (digest === image.configDigest) {
      return { size: image.ociConfig.length, stream: Readable.from([Buffer.from(image.ociConfig)]) };
    }
    const found = image.layers.get(digest);
    if (!found) {
      const served = image.replacedLayers?.get(digest);
      if (served !== undefined) {
        throw new ProxyError(
          'blob-not-found',
          `layer ${digest} of the stored manifest is kept only uncompressed by the image's store, not as these bytes: ask for ${served} (its diff ID), as the served manifest lists it`,
        );
      }
      throw new ProxyError('blob-not-found', `${digest} is not a blob of this image`);
    }
    const layer = found.info;
    // An empty body cannot hold back a byte; check its digest before any header goes out.
    if (layer.size === 0 && digestOf(new Uint8Array(0), digestAlgorithm(digest)) !== digest) {
      throw new ProxyError('digest-mismatch', `layer ${digest} is declared empty but an empty blob hashes differently`);
    }
    const diffID = options.decompress ? requireDiffID(layer) : undefined;
    const decrypting = (options.decrypt || options.decompress) && isEncryptedMediaType(found.source.mediaType);
    const cipher = decrypting ? await this.keys.cipherFor(found.source) : undefined;
    if (cipher !== undefined && layer.size === 0) checkEmptyCiphertext(cipher, `layer ${digest}`);
    const body = await image.source.blob(found.source, signal);
    if (body.size !== undefined && body.size !== layer.size) {
      body.stream.destroy();
      throw new ProxyError('size-mismatch', `layer ${digest}: the source announces ${body.size} bytes, the manifest ${layer.size}`);
    }
    const verifying = new VerifyingStream(layer, `layer ${digest}`);
    const verified = chain(cipher === undefined ? [body.stream, verifying] : [body.stream, verifying, new DecryptingStream(cipher, `layer ${digest}`)]);
    return diffID === undefined ? { size: layer.size, stream: verified } : decompressedLayer(verified, { ...layer, diffID });
  }
}

/** The diff ID a decompressed read is checked against; refused before anything is fetched. */
function requireDiffID(layer: LayerInfo): Digest {
  if (layer.diffIDError !== undefined)
    throw new ProxyError('manifest-invalid', `layer ${layer.digest}: ${layer.diffIDError}, so its uncompressed form cannot be verified`);
  if (layer.diffID === undefined)
    throw new ProxyError('bad-request', `layer ${layer.digest} has no diff ID in the config, so its uncompressed form cannot be verified`);
  return layer.diffID;
}
