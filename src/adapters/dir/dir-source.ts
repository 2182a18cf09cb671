import { join } from 'node:path';
import { digestHex, parseDigest, type Digest } from '../../domain/digest.js';
import { type LayerCompression } from '../../domain/layers.js';
import { type ImageReference } from '../../domain/reference.js';
import { MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { readSmallFile, streamFile } from '../oci-layout/local-files.js';
import { storedCompression } from '../oci-layout/stored-compression.js';
import { guessedMediaType } from '../oci-layout/manifest-media-type.js';

export interface DirSourceOptions {
  readonly reference: ImageReference;
  readonly directory: string;
  /** `manifest.json`, read when the image was opened. */
  readonly manifest: RawManifest;
}

/**
 * One dir: image. The format names files by the digest's hex only (as containers/image writes
 * them); paths come from validated digests, so they cannot leave the directory.
 */
export class DirSource implements ImageSource {
  readonly reference: ImageReference;
  private readonly directory: string;
  private readonly topManifest: RawManifest;

  constructor(options: DirSourceOptions) {
    this.reference = options.reference;
    this.directory = options.directory;
    this.topManifest = options.manifest;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    signal?.throwIfAborted();
    if (instance === undefined) return this.topManifest;
    const digest = parseDigest(instance);
    const path = join(this.directory, `${digestHex(digest)}.manifest.json`);
    const bytes = await readSmallFile(
      path,
      MAX_MANIFEST_BYTES,
      { code: 'image-not-found', message: `manifest ${digest} is not in the image directory ${this.directory}` },
      signal,
    );
    return { bytes, mediaType: guessedMediaType(bytes, path) };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    const digest = parseDigest(request.digest);
    const path = join(this.directory, digestHex(digest));
    return streamFile(path, { code: 'blob-not-found', message: `blob ${digest} is not in the image directory ${this.directory}` }, signal);
  }

  layerCompression(layer: BlobRequest, signal?: AbortSignal): Promise<LayerCompression | undefined> {
    return storedCompression(() => this.blob(layer, signal));
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each blob stream closes its own file.
  }
}
