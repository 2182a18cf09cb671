import { digestAlgorithm, digestHex, parseDigest, type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type ImageReference } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { declaredMediaType } from '../oci-layout/manifest-media-type.js';
import { type LayoutDescriptor } from '../oci-layout/oci-index.js';
import { MAX_MANIFEST_BYTES } from './archive-limits.js';
import { type TarEntry, type TarIndex } from './tar-index.js';

export interface OciArchiveSourceOptions {
  readonly reference: ImageReference;
  readonly archive: TarIndex;
  /** The index.json entry the reference selected. */
  readonly descriptor: LayoutDescriptor;
  /** All of index.json's entries: they supply media types for instance manifests they list. */
  readonly indexDescriptors: readonly LayoutDescriptor[];
}

/** One image of an OCI layout inside a tar; every entry it reads is addressed by a validated digest. */
export class OciArchiveSource implements ImageSource {
  readonly reference: ImageReference;
  private readonly archive: TarIndex;
  private readonly descriptor: LayoutDescriptor;
  private readonly indexDescriptors: readonly LayoutDescriptor[];

  constructor(options: OciArchiveSourceOptions) {
    this.reference = options.reference;
    this.archive = options.archive;
    this.descriptor = options.descriptor;
    this.indexDescriptors = options.indexDescriptors;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    signal?.throwIfAborted();
    const digest = instance === undefined ? this.descriptor.digest : parseDigest(instance);
    const listed = instance === undefined ? this.descriptor : this.indexDescriptors.find((entry) => entry.digest === digest);
    const entry = this.blobEntry(digest);
    if (entry === undefined) throw new ProxyError('image-not-found', `manifest ${digest} is not in the OCI archive ${this.archive.path}`);
    const bytes = await this.archive.read(entry, MAX_MANIFEST_BYTES, signal);
    const mediaType = listed?.mediaType || declaredMediaType(bytes, `${this.archive.path}: ${entry.name}`);
    return { bytes, mediaType };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    signal?.throwIfAborted();
    const digest = parseDigest(request.digest);
    const entry = this.blobEntry(digest);
    if (entry === undefined) throw new ProxyError('blob-not-found', `blob ${digest} is not in the OCI archive ${this.archive.path}`);
    return { stream: this.archive.stream(entry, signal), size: entry.size };
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each read opens and closes the archive itself.
  }

  /** `blobs/<algorithm>/<hex>`; the digest was validated, so the name cannot leave the layout. */
  private blobEntry(digest: Digest): TarEntry | undefined {
    return this.archive.find(`blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`);
  }
}
