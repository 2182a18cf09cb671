/**
 * Finding a reference's image and its layers among the primary store and the additional image
 * stores, as containers/image's storage reference resolves it (storage_reference.go
 * resolveImage) over containers/storage's lookups (store.Image, ImagesByDigest), each store in
 * order, the primary first.
 */
import { type DockerReference, dockerName, dockerString, parseDockerReference, type StorageReference } from '../../domain/reference.js';
import { ProxyError } from '../../domain/errors.js';
import { formatStorageReference } from '../../domain/storage-reference.js';
import { type ImageRecord, imagesFile, type LayerRecord, layersFiles, readRecords, type StoreLayout } from './store-layout.js';

export interface StoredImage {
  readonly store: StoreLayout;
  readonly record: ImageRecord;
}

export interface StoredLayer {
  readonly store: StoreLayout;
  readonly record: LayerRecord;
}

/** The image a reference names, and the reference with a truncated ID expanded (or dropped for the name it also was). */
export interface FoundImage extends StoredImage {
  readonly reference: StorageReference;
}

export class StoreImages {
  private constructor(private readonly images: readonly StoredImage[]) {}

  static async read(stores: readonly StoreLayout[], signal?: AbortSignal): Promise<StoreImages> {
    const perStore = await Promise.all(
      stores.map(async (store) => (await readRecords<ImageRecord>(imagesFile(store), signal)).map((record) => ({ store, record }))),
    );
    return new StoreImages(perStore.flat());
  }

  /** `prefer` picks among several images stored under one manifest list's digest (one per platform pulled). */
  async find(reference: StorageReference, prefer?: (image: StoredImage, digest: string) => Promise<boolean>): Promise<FoundImage> {
    let ref = reference;
    let id = ref.id;
    if (ref.idPrefix !== undefined) {
      const expanded = this.byIdPrefix(ref.idPrefix);
      if (expanded !== undefined) {
        id = expanded.record.id;
        ref = { ...ref, id, idPrefix: undefined, ...(ref.prefixMayBeName ? { named: undefined, prefixMayBeName: undefined } : {}) };
      } else if (ref.prefixMayBeName) {
        ref = { ...ref, idPrefix: undefined, prefixMayBeName: undefined };
      } else {
        throw new ProxyError(
          'invalid-reference',
          `${JSON.stringify(ref.idPrefix)} in containers-storage:${formatStorageReference(reference)} does not look like an image ID or digest: no image ID in the store starts with it`,
        );
      }
    }
    const named = ref.named;
    let found: StoredImage | undefined;
    if (id === undefined && named !== undefined) {
      found = this.images.find((image) => image.record.names?.includes(dockerString(named)));
      // A name with a digest also finds an image stored under that name with another tag or digest.
      if (found === undefined && named.digest !== undefined) {
        const candidates = this.images.filter((image) => digestsOf(image.record).includes(named.digest!) && matchesRepository(image.record, named));
        found = candidates[0];
        if (candidates.length > 1 && prefer !== undefined) {
          for (const candidate of candidates) if (await prefer(candidate, named.digest)) found = candidate;
        }
      }
    }
    if (found === undefined && id !== undefined) found = this.images.find((image) => image.record.id === id);
    const shown = `containers-storage:${formatStorageReference(reference)}`;
    if (found === undefined) throw new ProxyError('image-not-found', `${shown}: no image in the store matches the reference`);
    if (named !== undefined && !matchesRepository(found.record, named)) {
      throw new ProxyError('image-not-found', `${shown}: image ${found.record.id} is not stored under the name ${dockerName(named)}`);
    }
    return { ...found, reference: ref };
  }

  /** store.Image's prefix match: the first store holding exactly one image whose ID starts with it. */
  private byIdPrefix(prefix: string): StoredImage | undefined {
    const exact = this.images.find((image) => image.record.id === prefix);
    if (exact !== undefined) return exact;
    const stores = [...new Set(this.images.map((image) => image.store))];
    for (const store of stores) {
      const matches = this.images.filter((image) => image.store === store && image.record.id.startsWith(prefix));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1)
        throw new ProxyError(
          'invalid-reference',
          `the image ID prefix ${JSON.stringify(prefix)} is ambiguous: ${matches.length} images in ${store.graphRoot} start with it`,
        );
    }
    return undefined;
  }
}

/** Every manifest digest the image was stored under (the `digests` field, else what its big data names). */
function digestsOf(record: ImageRecord): string[] {
  const digests = new Set<string>(record.digests ?? []);
  if (record.digest !== undefined) digests.add(record.digest);
  for (const [key, digest] of Object.entries(record['big-data-digests'] ?? {})) {
    if (key === 'manifest' || key.startsWith('manifest-')) digests.add(digest);
  }
  return [...digests];
}

/** imageMatchesRepo: one of the image's names is in the reference's repository. */
function matchesRepository(record: ImageRecord, named: DockerReference): boolean {
  const repository = dockerName(named);
  return (record.names ?? []).some((name) => {
    try {
      return dockerName(parseDockerReference(name)) === repository;
    } catch {
      return false;
    }
  });
}

/** The image's layers, bottom first, each found in the first store that has it. */
export async function layerChain(image: StoredImage, stores: readonly StoreLayout[], signal?: AbortSignal): Promise<StoredLayer[]> {
  if (image.record.layer === undefined || image.record.layer === '') return [];
  const byId = new Map<string, StoredLayer>();
  // Later stores first, so that the first store holding a layer is the one kept.
  for (const store of [...stores].reverse()) {
    for (const file of layersFiles(store).reverse()) {
      for (const record of await readRecords<LayerRecord>(file, signal)) byId.set(record.id, { store, record });
    }
  }
  const chain: StoredLayer[] = [];
  for (let id: string | undefined = image.record.layer; id !== undefined && id !== ''; id = byId.get(id)?.record.parent) {
    const layer = byId.get(id);
    if (layer === undefined) throw new ProxyError('image-not-found', `layer ${id} of image ${image.record.id} is not in the store (was it removed?)`);
    if (chain.length > 10_000) throw new ProxyError('io', `the layers of image ${image.record.id} form a loop`);
    chain.push(layer);
  }
  return chain.reverse();
}
