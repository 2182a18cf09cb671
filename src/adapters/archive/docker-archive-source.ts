import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { parseDigest, type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type DetectedCompression, type LayerCompression } from '../../domain/layers.js';
import { MediaType } from '../../domain/media-types.js';
import { type ImageReference } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { decompressorFor } from './compression.js';
import { type TarEntry, type TarIndex } from './tar-index.js';

/** A layer file of the archive, known by the diffID the generated manifest names it by. */
export interface ArchiveLayer {
  readonly entry: TarEntry;
  readonly compression: DetectedCompression;
  /** Uncompressed size: what is served. */
  readonly size: number;
}

export interface DockerArchiveSourceOptions {
  readonly reference: ImageReference;
  readonly archive: TarIndex;
  readonly manifest: Uint8Array;
  readonly config: { readonly digest: Digest; readonly bytes: Uint8Array };
  readonly layers: ReadonlyMap<Digest, ArchiveLayer>;
}

/** One image of a `docker save` archive: a generated manifest, the config, uncompressed layers. */
export class DockerArchiveSource implements ImageSource {
  readonly reference: ImageReference;
  private readonly archive: TarIndex;
  private readonly manifestBytes: Uint8Array;
  private readonly config: DockerArchiveSourceOptions['config'];
  private readonly layers: ReadonlyMap<Digest, ArchiveLayer>;

  constructor(options: DockerArchiveSourceOptions) {
    this.reference = options.reference;
    this.archive = options.archive;
    this.manifestBytes = options.manifest;
    this.config = options.config;
    this.layers = options.layers;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    signal?.throwIfAborted();
    if (instance !== undefined) {
      throw new ProxyError('image-not-found', `manifest ${parseDigest(instance)}: a docker archive holds single images, not lists (${this.archive.name})`);
    }
    return { bytes: this.manifestBytes, mediaType: MediaType.dockerSchema2 };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    signal?.throwIfAborted();
    const digest = parseDigest(request.digest);
    if (digest === this.config.digest) return { stream: Readable.from([this.config.bytes]), size: this.config.bytes.length };
    const layer = this.layers.get(digest);
    if (layer === undefined) throw new ProxyError('blob-not-found', `blob ${digest} is not in the docker archive ${this.archive.name}`);
    return { stream: uncompressed(this.archive, layer, signal), size: layer.size };
  }

  /** Every layer is served decompressed (containers/image's GetBlob), whatever its file holds. */
  async layerCompression(): Promise<LayerCompression> {
    return 'none';
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each read opens and closes the archive itself.
  }
}

/** A layer's data as containers/image serves it: decompressed when the file is compressed. */
export function uncompressed(archive: TarIndex, layer: ArchiveLayer, signal?: AbortSignal): Readable {
  const raw = archive.stream(layer.entry, signal);
  const decompressor = decompressorFor(layer.compression, `${archive.name}: ${layer.entry.name}`);
  return decompressor === undefined ? raw : pipeline(raw, decompressor, () => undefined);
}
