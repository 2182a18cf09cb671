import { Readable } from 'node:stream';
import { type Digest, digestOf } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { VerifyingStream } from '../../domain/verifying-stream.js';
import { type BlobAnswer } from '../../ports/image-api.js';
import { type ResolvedImage } from './resolve-manifest.js';

/**
 * Serves one blob of a resolved image: the (possibly converted) config from memory, a layer as a
 * verified stream from the source. Digests the image does not reference are not served.
 */
export class FetchBlob {
  async execute(image: ResolvedImage, digest: Digest, signal?: AbortSignal): Promise<BlobAnswer> {
    if (digest === image.configDigest) {
      return { size: image.ociConfig.length, stream: Readable.from([Buffer.from(image.ociConfig)]) };
    }
    const layer = image.layers.get(digest);
    if (!layer) throw new ProxyError('blob-not-found', `${digest} is not a blob of this image`);
    // An empty body cannot hold back a byte; check its digest before any header goes out.
    if (layer.size === 0 && digestOf(new Uint8Array(0), 'sha256') !== digest && digest.startsWith('sha256:')) {
      throw new ProxyError('digest-mismatch', `layer ${digest} is declared empty but an empty blob hashes differently`);
    }
    const body = await image.source.blob(layer, signal);
    if (body.size !== undefined && body.size !== layer.size) {
      body.stream.destroy();
      throw new ProxyError('size-mismatch', `layer ${digest}: the source announces ${body.size} bytes, the manifest ${layer.size}`);
    }
    const verifying = new VerifyingStream(layer, `layer ${digest}`);
    body.stream.once('error', (err) => verifying.destroy(err));
    verifying.once('close', () => body.stream.destroy());
    return { size: layer.size, stream: body.stream.pipe(verifying) };
  }
}
