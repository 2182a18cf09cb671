import { join } from 'node:path';
import { digestAlgorithm, digestHex, parseDigest, type Digest } from '../../domain/digest.js';
import { type ImageReference } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { readSmallFile, streamFile } from './local-files.js';
import { declaredMediaType } from './manifest-media-type.js';
import { type LayoutDescriptor } from './oci-index.js';

export interface OciLayoutSourceOptions {
  readonly reference: ImageReference;
  /** The layout directory. */
  readonly layout: string;
  /** The index.json entry the reference selected. */
  readonly descriptor: LayoutDescriptor;
  /** All of index.json's entries: they supply media types for instance manifests they list. */
  readonly indexDescriptors: readonly LayoutDescriptor[];
}

/** One image of an OCI layout; every file it reads is addressed by a validated digest. */
export class OciLayoutSource implements ImageSource {
  readonly reference: ImageReference;
  private readonly layout: string;
  private readonly descriptor: LayoutDescriptor;
  private readonly indexDescriptors: readonly LayoutDescriptor[];

  constructor(options: OciLayoutSourceOptions) {
    this.reference = options.reference;
    this.layout = options.layout;
    this.descriptor = options.descriptor;
    this.indexDescriptors = options.indexDescriptors;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    const digest = instance === undefined ? this.descriptor.digest : parseDigest(instance);
    const listed = instance === undefined ? this.descriptor : this.indexDescriptors.find((entry) => entry.digest === digest);
    const path = this.blobPath(digest);
    const bytes = await readSmallFile(path, { code: 'image-not-found', message: `manifest ${digest} is not in the OCI layout ${this.layout}` }, signal);
    const mediaType = listed?.mediaType || declaredMediaType(bytes, path);
    return { bytes, mediaType };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    const digest = parseDigest(request.digest);
    return streamFile(this.blobPath(digest), { code: 'blob-not-found', message: `blob ${digest} is not in the OCI layout ${this.layout}` }, signal);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each blob stream closes its own file.
  }

  /** `blobs/<algorithm>/<hex>`; safe because `digest` was validated (no separators, no `..`). */
  private blobPath(digest: Digest): string {
    return join(this.layout, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }
}
