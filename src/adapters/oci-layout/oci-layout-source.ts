import { digestAlgorithm, digestHex, parseDigest, type Digest } from '../../domain/digest.js';
import { type LayerCompression } from '../../domain/layers.js';
import { type ImageReference } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type LayoutFiles } from './layout-files.js';
import { storedCompression } from './stored-compression.js';
import { guessedMediaType } from './manifest-media-type.js';
import { type LayoutDescriptor } from './oci-index.js';

export interface OciLayoutSourceOptions {
  readonly reference: ImageReference;
  /** Where the layout is stored: a directory (`oci:`) or a tar archive (`oci-archive:`). */
  readonly files: LayoutFiles;
  /** The index.json entry the reference selected. */
  readonly descriptor: LayoutDescriptor;
  /** All of index.json's entries: they supply media types for instance manifests they list. */
  readonly indexDescriptors: readonly LayoutDescriptor[];
  /** Whether a layer's first bytes are cheap to read (not in a compressed archive), to learn its real compression. */
  readonly peekLayers: boolean;
}

/** One image of an OCI layout; every file it reads is addressed by a validated digest. */
export class OciLayoutSource implements ImageSource {
  readonly reference: ImageReference;
  private readonly files: LayoutFiles;
  private readonly descriptor: LayoutDescriptor;
  private readonly indexDescriptors: readonly LayoutDescriptor[];
  private readonly peekLayers: boolean;

  constructor(options: OciLayoutSourceOptions) {
    this.reference = options.reference;
    this.files = options.files;
    this.descriptor = options.descriptor;
    this.indexDescriptors = options.indexDescriptors;
    this.peekLayers = options.peekLayers;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    const digest = instance === undefined ? this.descriptor.digest : parseDigest(instance);
    const listed = instance === undefined ? this.descriptor : this.indexDescriptors.find((entry) => entry.digest === digest);
    const path = blobPath(digest);
    const missing = { code: 'image-not-found', message: `manifest ${digest} is not in the ${this.files.description}` } as const;
    const bytes = await this.files.read(path, MAX_MANIFEST_BYTES, missing, signal);
    const mediaType = listed?.mediaType || guessedMediaType(bytes, this.files.nameOf(path));
    return { bytes, mediaType };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    const digest = parseDigest(request.digest);
    return this.files.stream(blobPath(digest), { code: 'blob-not-found', message: `blob ${digest} is not in the ${this.files.description}` }, signal);
  }

  async layerCompression(layer: BlobRequest, signal?: AbortSignal): Promise<LayerCompression | undefined> {
    return this.peekLayers ? storedCompression(() => this.blob(layer, signal)) : undefined;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each read opens and closes what it reads.
  }
}

/** `blobs/<algorithm>/<hex>`; safe because `digest` was validated (no separators, no `..`). */
function blobPath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}
