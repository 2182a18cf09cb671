import { Readable } from 'node:stream';
import { digestAlgorithm, digestHex, type Digest, digestOf, isDigest, parseDigest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type StorageReference } from '../../domain/reference.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type PhysicalLayer } from '../../domain/uncompressed-layers.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { type StoredImage, type StoredLayer } from './image-lookup.js';
import { guessedMediaType } from '../oci-layout/manifest-media-type.js';
import { bigDataFile, layerDirectory, readBigData, tarSplitFile } from './store-layout.js';
import { assembleLayerTar } from './tar-split-assembly.js';

export interface StorageSourceOptions {
  readonly reference: StorageReference;
  readonly image: StoredImage;
  /** Bottom layer first. */
  readonly layers: readonly StoredLayer[];
  /** The manifest the reference names, read when the image was opened. */
  readonly manifest: RawManifest;
}

/** Signatures of one image can be many, but not this large. */
const MAX_SIGNATURES_BYTES = 16 * 1024 * 1024;

/**
 * One image of a containers/storage store, read as containers/image's storage source reads it:
 * manifests and the config from the image's big data, layers rebuilt uncompressed from their
 * tar-split records and the layer directories, signatures from the image's metadata. A layer is
 * served by its diff ID only: asked for by the digest the stored manifest gives it (the
 * compressed blob it was pulled as, which the store no longer has), it names the diff ID
 * instead of answering with bytes that would not match.
 */
export class StorageSource implements ImageSource {
  readonly reference: StorageReference;
  private readonly image: StoredImage;
  private readonly layers: readonly StoredLayer[];
  private readonly topManifest: RawManifest;

  constructor(options: StorageSourceOptions) {
    this.reference = options.reference;
    this.image = options.image;
    this.layers = options.layers;
    this.topManifest = options.manifest;
  }

  private get id(): string {
    return this.image.record.id;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    signal?.throwIfAborted();
    if (instance === undefined) return this.topManifest;
    const digest = parseDigest(instance);
    const bytes = await this.bigData(`manifest-${digest}`, MAX_MANIFEST_BYTES, signal);
    if (bytes === undefined) {
      throw new ProxyError('image-not-found', `manifest ${digest} is not stored with image ${this.id}: a store keeps only the instances that were pulled`);
    }
    return {
      bytes,
      mediaType: guessedMediaType(bytes, `${bigDataFile(this.image.store, this.id, `manifest-${digest}`)} (manifest ${digest} of image ${this.id})`),
    };
  }

  async blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    const digest = parseDigest(request.digest);
    signal?.throwIfAborted();
    const layer = this.layers.find((l) => l.record['diff-digest'] === digest);
    if (layer !== undefined) {
      const files = {
        layerId: layer.record.id,
        tarSplit: tarSplitFile(layer.store, layer.record.id),
        graphRoot: layer.store.graphRoot,
        directory: layerDirectory(layer.store, layer.record.id),
      };
      return { stream: assembleLayerTar(files, signal), size: layer.record['diff-size'] };
    }
    // Other blobs are the image's big data items keyed by their digest: the config.
    const data = await this.bigData(digest, MAX_CONFIG_BYTES, signal);
    if (data !== undefined) {
      // Whole in memory, so checked before a byte goes out: the file may have been replaced since the image was resolved.
      const actual = digestOf(data, digestAlgorithm(digest));
      if (actual !== digest) {
        throw new ProxyError('digest-mismatch', `${bigDataFile(this.image.store, this.id, digest)} (blob ${digest} of image ${this.id}) hashes to ${actual}`);
      }
      return { stream: Readable.from([Buffer.from(data)]), size: data.length };
    }
    const compressed = this.layers.find((l) => l.record['compressed-diff-digest'] === digest);
    if (compressed?.record['diff-digest'] !== undefined) {
      throw new ProxyError(
        'blob-not-found',
        `layer ${digest} is kept only uncompressed in the store: ask for ${compressed.record['diff-digest']}, its diff ID`,
      );
    }
    throw new ProxyError('blob-not-found', `${digest} is not a blob of image ${this.id} in the store`);
  }

  async uncompressedLayers(_instance: Digest, signal?: AbortSignal): Promise<readonly PhysicalLayer[]> {
    signal?.throwIfAborted();
    return this.layers.map(({ record }) => {
      const digest = record['diff-digest'];
      const size = record['diff-size'];
      if (digest === undefined || !isDigest(digest)) {
        throw new ProxyError(
          'manifest-unsupported',
          `layer ${record.id} of image ${this.id} has no uncompressed digest in the store (a partially pulled layer?), so it cannot be served verified`,
        );
      }
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
        throw new ProxyError('manifest-unsupported', `layer ${record.id} of image ${this.id} has no uncompressed size in the store`);
      }
      return { digest, size };
    });
  }

  /**
   * GetSignaturesWithFormat: the blobs kept for that manifest (`signatures-sizes`, big data
   * `signature-<hex>`), or for the image's own manifest the older `signature-sizes` and
   * `signatures`; sizes cut the concatenated blobs apart.
   */
  async storedSignatures(digest: Digest, signal?: AbortSignal): Promise<readonly Uint8Array[]> {
    const metadata = this.metadata();
    let sizes = metadata.perManifest[digest];
    let key = `signature-${digestHex(digest)}`;
    if (sizes === undefined) {
      sizes = metadata.legacy;
      key = 'signatures';
    }
    if (sizes.length === 0) return [];
    const data = (await this.bigData(key, MAX_SIGNATURES_BYTES, signal)) ?? new Uint8Array();
    const blobs: Uint8Array[] = [];
    let offset = 0;
    for (const size of sizes) {
      if (offset + size > data.length)
        throw new ProxyError('io', `signatures of image ${this.id} (${key}): expected at least ${offset + size} bytes, found ${data.length}`);
      blobs.push(data.subarray(offset, offset + size));
      offset += size;
    }
    if (offset !== data.length) throw new ProxyError('io', `signatures of image ${this.id} (${key}) hold ${data.length - offset} extra bytes`);
    return blobs;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: each layer stream closes its own files.
  }

  private async bigData(key: string, limit: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    if (!this.image.record['big-data-names']?.includes(key)) return undefined;
    const bytes = await readBigData(this.image.store, this.id, key, limit, signal);
    if (bytes === undefined) throw new ProxyError('image-not-found', `image ${this.id} was removed from the store (its ${key} is gone)`);
    return bytes;
  }

  private metadata(): { perManifest: Record<string, number[]>; legacy: number[] } {
    const sizes = (value: unknown): number[] | undefined =>
      Array.isArray(value) && value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) ? (value as number[]) : undefined;
    let parsed: Record<string, unknown> | null;
    try {
      parsed = JSON.parse(this.image.record.metadata ?? '{}') as Record<string, unknown>;
    } catch {
      throw new ProxyError('io', `the metadata of image ${this.id} is not valid JSON`);
    }
    const perManifest: Record<string, number[]> = {};
    const stored = parsed?.['signatures-sizes'];
    if (typeof stored === 'object' && stored !== null) {
      for (const [digest, value] of Object.entries(stored)) {
        const list = sizes(value);
        if (list !== undefined) perManifest[digest] = list;
      }
    }
    return { perManifest, legacy: sizes(parsed?.['signature-sizes']) ?? [] };
  }
}
