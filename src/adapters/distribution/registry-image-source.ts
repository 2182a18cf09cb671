import { type Digest } from '../../domain/digest.js';
import { type DockerReference, type ImageReference } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type RawManifest } from '../../ports/transport.js';
import { getRegistryBlob } from './blobs.js';
import { type Signature } from '../../domain/signatures/signature.js';
import { fetchManifest } from './manifests.js';
import { type Repository } from './repository.js';
import { fetchExtensionSignatures, fetchSigstoreAttachments } from './signatures.js';

/** An image on a registry. The manifest the reference names is fetched once and kept. */
export class RegistryImageSource implements ImageSource {
  private primary: Promise<RawManifest> | undefined;

  constructor(
    readonly reference: ImageReference & { readonly transport: 'docker' },
    private readonly repository: Repository,
  ) {}

  private get docker(): DockerReference {
    return this.reference.docker;
  }

  async manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    signal?.throwIfAborted();
    if (instance !== undefined) return fetchManifest(this.repository, instance, instance, signal);
    if (this.primary === undefined) {
      const { digest, tag } = this.docker;
      const pending = fetchManifest(this.repository, digest ?? tag ?? 'latest', digest, signal);
      this.primary = pending;
      pending.catch(() => {
        if (this.primary === pending) this.primary = undefined;
      });
    }
    return await this.primary;
  }

  blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    return getRegistryBlob(this.repository, request, signal);
  }

  async storedSignatures(digest: Digest, signal?: AbortSignal): Promise<readonly Uint8Array[] | undefined> {
    return this.repository.supportsSignatures === true ? fetchExtensionSignatures(this.repository, digest, signal) : undefined;
  }

  sigstoreAttachments(digest: Digest, signal?: AbortSignal): Promise<readonly Signature[]> {
    return fetchSigstoreAttachments(this.repository, digest, signal);
  }

  async close(): Promise<void> {
    // Connections belong to the transport's dispatchers, which outlive any one image.
  }
}
