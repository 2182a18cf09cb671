import { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { type Digest, digestAlgorithm, digestOf } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type LayerInfo } from '../../domain/layers.js';
import { VerifyingStream } from '../../domain/verifying-stream.js';
import { type BlobAnswer } from '../../ports/image-api.js';
import { type ResolvedImage } from './resolve-manifest.js';
import { chain } from './stream-chain.js';

/**
 * Serves one blob of a resolved image: the (possibly converted) config from memory, a layer as a
 * verified stream from the source. Digests the image does not reference are not served.
 */
export class FetchBlob {
  async execute(image: ResolvedImage, digest: Digest, options: { decompress?: boolean } = {}, signal?: AbortSignal): Promise<BlobAnswer> {
    if (digest === image.configDigest) {
      return { size: image.ociConfig.length, stream: Readable.from([Buffer.from(image.ociConfig)]) };
    }
    const found = image.layers.get(digest);
    if (!found) throw new ProxyError('blob-not-found', `${digest} is not a blob of this image`);
    const layer = found.info;
    // An empty body cannot hold back a byte; check its digest before any header goes out.
    if (layer.size === 0 && digestOf(new Uint8Array(0), digestAlgorithm(digest)) !== digest) {
      throw new ProxyError('digest-mismatch', `layer ${digest} is declared empty but an empty blob hashes differently`);
    }
    const decompress = options.decompress === true && layer.compression !== 'none';
    if (options.decompress && layer.diffID === undefined) {
      throw new ProxyError('bad-request', `layer ${digest} has no diff ID in the config, so its uncompressed form cannot be verified`);
    }
    const body = await image.source.blob(found.source, signal);
    if (body.size !== undefined && body.size !== layer.size) {
      body.stream.destroy();
      throw new ProxyError('size-mismatch', `layer ${digest}: the source announces ${body.size} bytes, the manifest ${layer.size}`);
    }
    const stages = [body.stream, new VerifyingStream(layer, `layer ${digest}`)];
    if (decompress) stages.push(decompressor(layer), new VerifyingStream({ digest: layer.diffID! }, `uncompressed layer ${digest} (diff ID ${layer.diffID})`));
    else if (options.decompress) stages.push(new VerifyingStream({ digest: layer.diffID!, size: layer.size }, `layer ${digest} (diff ID ${layer.diffID})`));
    return { size: decompress ? undefined : layer.size, stream: chain(stages) };
  }
}

const DECOMPRESSED_CHUNK_BYTES = 1024 * 1024;

/**
 * Each stage holds back its last bytes until its own check passes, so the end of a decompressed
 * layer is released only after both the compressed digest and the diff ID matched.
 */
function decompressor(layer: LayerInfo) {
  // zlib's default 16 KiB output chunks cost a threadpool round trip each; with 1 MiB ones a gzip
  // layer decompresses ~1.5× faster (bench: 135 → 212 MiB/s; `curl | gzip -dc | sha256sum` 171).
  const options = { chunkSize: DECOMPRESSED_CHUNK_BYTES };
  const stream = layer.compression === 'gzip' ? createGunzip(options) : createZstdDecompress(options);
  return stream.on('error', (err) => {
    if (!(err instanceof ProxyError)) stream.destroy(new ProxyError('digest-mismatch', `layer ${layer.digest}: cannot decompress (${layer.compression}): ${err.message}`));
  });
}
