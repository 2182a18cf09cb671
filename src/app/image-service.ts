import { type Digest } from '../domain/digest.js';
import { type ImageReference } from '../domain/reference.js';
import { type BlobAnswer, type ImageApi, type ManifestAnswer } from '../ports/image-api.js';
import { type FetchBlob } from './use-cases/fetch-blob.js';
import { type ResolvedImage, type ResolveManifest } from './use-cases/resolve-manifest.js';

/**
 * The API for the command-line image. The image is resolved on first use and kept for the
 * process lifetime; concurrent first requests share one resolution, and a failed one is
 * retried by the next request (a registry may come back).
 */
export class ImageService implements ImageApi {
  private resolved: Promise<ResolvedImage> | undefined;

  constructor(
    private readonly reference: ImageReference,
    private readonly resolveManifest: ResolveManifest,
    private readonly fetchBlob: FetchBlob,
  ) {}

  async manifest(): Promise<ManifestAnswer> {
    const image = await this.image();
    return { body: image.ociManifest, manifestDigest: image.manifestDigest, instanceDigest: image.instanceDigest };
  }

  async config(): Promise<Uint8Array> {
    return (await this.image()).ociConfig;
  }

  async blob(digest: Digest, signal?: AbortSignal): Promise<BlobAnswer> {
    return this.fetchBlob.execute(await this.image(), digest, signal);
  }

  async close(): Promise<void> {
    const pending = this.resolved;
    this.resolved = undefined;
    if (pending) await (await pending.catch(() => undefined))?.source.close();
  }

  /** The shared resolution takes no request's signal: one aborted request must not fail the others. */
  private image(): Promise<ResolvedImage> {
    if (!this.resolved) {
      const attempt = this.resolveManifest.execute(this.reference);
      this.resolved = attempt;
      attempt.catch(() => {
        if (this.resolved === attempt) this.resolved = undefined;
      });
    }
    return this.resolved;
  }
}
