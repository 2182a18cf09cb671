import { Readable } from 'node:stream';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { ProxyError } from '../../../src/domain/errors.js';
import { VerifyingStream } from '../../../src/domain/verifying-stream.js';
import { type LayerInfo } from '../../../src/domain/layers.js';
import { type BlobAnswer, type ImageApi, type ImageName, type ManifestAnswer } from '../../../src/ports/image-api.js';
import { type PolicyVerdict } from '../../../src/ports/signature-policy.js';

/**
 * An ImageApi over bytes held in memory, for testing the HTTP adapter on its own. Blobs go through
 * the real VerifyingStream, so a blob registered with `corrupt` fails exactly as a real one does.
 */
export class MemoryImageApi implements ImageApi {
  private readonly blobs = new Map<Digest, { bytes: Uint8Array; served: Uint8Array }>();
  /** Streams handed out, to check the server releases them. */
  readonly streams: Readable[] = [];
  failure: Error | undefined;

  constructor(
    readonly manifestAnswer: ManifestAnswer,
    readonly configBytes: Uint8Array,
  ) {}

  addBlob(bytes: Uint8Array, options: { corrupt?: boolean } = {}): Digest {
    const digest = digestOf(bytes);
    const served = Buffer.from(bytes);
    if (options.corrupt) served[served.length >> 1]! ^= 0xff;
    this.blobs.set(digest, { bytes, served });
    return digest;
  }

  async manifest(image: ImageName): Promise<ManifestAnswer> {
    this.requestedImages.push(image);
    if (this.failure) throw this.failure;
    return this.manifestAnswer;
  }

  async config(): Promise<Uint8Array> {
    if (this.failure) throw this.failure;
    return this.configBytes;
  }

  /** Images asked for by name, and images closed, to check the query parameter reaches the API. */
  readonly requestedImages: (string | undefined)[] = [];
  readonly closedImages: string[] = [];

  async layers(image: ImageName): Promise<readonly LayerInfo[]> {
    this.requestedImages.push(image);
    if (this.failure) throw this.failure;
    return [...this.blobs.keys()].map((digest) => ({
      digest,
      size: this.blobs.get(digest)!.bytes.length,
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      compression: 'none' as const,
      diffID: digest,
    }));
  }

  async signatures(image: ImageName): Promise<PolicyVerdict> {
    this.requestedImages.push(image);
    if (this.failure) throw this.failure;
    return { allowed: true, policy: '--insecure-policy', requirements: [], signatures: [] };
  }

  async close(image: string): Promise<void> {
    this.closedImages.push(image);
  }

  async blob(image: ImageName, digest: Digest): Promise<BlobAnswer> {
    this.requestedImages.push(image);
    if (this.failure) throw this.failure;
    const blob = this.blobs.get(digest);
    if (!blob) throw new ProxyError('blob-not-found', `${digest} is not a blob of this image`);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < blob.served.length; offset += 64 * 1024) chunks.push(Buffer.from(blob.served.subarray(offset, offset + 64 * 1024)));
    const stream = Readable.from(chunks).pipe(new VerifyingStream({ digest, size: blob.bytes.length }));
    this.streams.push(stream);
    return { size: blob.bytes.length, stream };
  }
}
