import { type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { isEncryptedMediaType } from '../../domain/layer-encryption.js';
import { type LayerInfo } from '../../domain/layers.js';
import { type Descriptor } from '../../domain/manifest.js';
import { formatImageName, type ImageReference } from '../../domain/reference.js';
import { type BlobAnswer, type ImageApi, type ImageName, type ManifestAnswer } from '../../ports/image-api.js';
import { SharedWork } from '../../domain/shared-work.js';
import { type PolicyVerdict } from '../../ports/signature-policy.js';
import { type FetchBlob } from './use-cases/fetch-blob.js';
import { LayerKeys } from './use-cases/layer-keys.js';
import { type ResolvedImage, type ResolveManifest, withServedCompression } from './use-cases/resolve-manifest.js';

/**
 * The API over any number of images. Each image is resolved on first use and kept until closed;
 * concurrent first requests share one resolution, and a failed one is retried by the next
 * request (a registry may come back). Connections served concurrently share this cache; a
 * resolution every requester has left (hung up, cancelled) is stopped and forgotten.
 */
export class ImageService implements ImageApi {
  private readonly resolved = new Map<string, SharedWork<ResolvedImage>>();
  /** `/layers` of each resolved image, worked out on its first request and kept with the image. */
  private readonly layerLists = new WeakMap<ResolvedImage, Promise<readonly LayerInfo[]>>();

  constructor(
    /** The command-line image, served when a request names none. */
    private readonly defaultImage: ImageReference | undefined,
    /** Parses a requested name the way the command line does (relative paths included). */
    private readonly parseName: (name: string) => ImageReference,
    private readonly resolveManifest: ResolveManifest,
    private readonly fetchBlob: FetchBlob,
    private readonly keys: LayerKeys = new LayerKeys([]),
  ) {}

  async manifest(image: ImageName, signal?: AbortSignal): Promise<ManifestAnswer> {
    const resolved = await this.image(image, signal);
    return { body: resolved.ociManifest, manifestDigest: resolved.manifestDigest, instanceDigest: resolved.instanceDigest };
  }

  async config(image: ImageName, signal?: AbortSignal): Promise<Uint8Array> {
    return (await this.image(image, signal)).ociConfig;
  }

  /** Shared by concurrent requests, so it takes no request's signal; a failure is not kept. */
  async layers(image: ImageName, signal?: AbortSignal): Promise<readonly LayerInfo[]> {
    const resolved = await this.image(image, signal);
    let list = this.layerLists.get(resolved);
    if (list === undefined) {
      const descriptors = resolved.layerInfos.map((info) => resolved.layers.get(info.digest)!.source);
      list = withServedCompression(resolved.source, descriptors, resolved.layerInfos).then((infos) => this.withEncryption(descriptors, infos));
      this.layerLists.set(resolved, list);
      list.catch(() => this.layerLists.delete(resolved));
    }
    return list;
  }

  async blob(
    image: ImageName,
    digest: Digest,
    options: { readonly decompress?: boolean; readonly decrypt?: boolean },
    signal?: AbortSignal,
  ): Promise<BlobAnswer> {
    return this.fetchBlob.execute(await this.image(image, signal), digest, options, signal);
  }

  /** Marks encrypted layers, and whether a decryption key opens each. */
  private withEncryption(descriptors: readonly Descriptor[], infos: readonly LayerInfo[]): Promise<LayerInfo[]> {
    return Promise.all(
      infos.map(async (info, i) => {
        const descriptor = descriptors[i]!;
        return isEncryptedMediaType(descriptor.mediaType) ? { ...info, encrypted: true as const, decryptable: await this.keys.fits(descriptor) } : info;
      }),
    );
  }

  async signatures(image: ImageName, signal?: AbortSignal): Promise<PolicyVerdict> {
    return (await this.image(image, signal)).policyVerdict;
  }

  async close(image: string): Promise<void> {
    const key = formatImageName(this.parseName(image));
    const pending = this.resolved.get(key);
    this.resolved.delete(key);
    if (pending) await (await pending.result.catch(() => undefined))?.source.close();
  }

  /**
   * The image's shared resolution: a request that is aborted stops waiting for it, and only the
   * last one to go stops the resolution itself, so one aborted request never fails the others.
   */
  private image(name: ImageName, signal?: AbortSignal): Promise<ResolvedImage> {
    const reference = name === undefined ? this.defaultImage : this.parseName(name);
    if (reference === undefined) {
      return Promise.reject(new ProxyError('bad-request', 'no image: name one with ?image=TRANSPORT:REFERENCE (no IMAGE was given on the command line)'));
    }
    const key = formatImageName(reference);
    let attempt = this.resolved.get(key);
    if (attempt === undefined || attempt.abandoned) {
      const started = new SharedWork((workSignal) => this.resolveManifest.execute(reference, workSignal));
      this.resolved.set(key, started);
      started.result.catch(() => {
        if (this.resolved.get(key) === started) this.resolved.delete(key);
      });
      attempt = started;
    }
    return attempt.join(signal);
  }
}
