import { readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { guessManifestMediaType, parseManifest } from '../../domain/manifest.js';
import { chooseInstance, type Platform } from '../../domain/platform.js';
import { type ImageReference, type StorageReference, type TransportName } from '../../domain/reference.js';
import { formatStorageReference } from '../../domain/storage-reference.js';
import { MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { guessedMediaType } from '../oci-layout/manifest-media-type.js';
import { layerChain, StoreImages, type StoredImage } from './image-lookup.js';
import { type DefaultStore } from './storage-conf.js';
import { StorageSource } from './storage-source.js';
import { bigDataFile, READABLE_DRIVERS, type ReadableDriver, readBigData, type StoreLayout } from './store-layout.js';

export interface StorageTransportOptions {
  /** storage.conf's default store, read on first use (and only when a reference needs it). */
  readonly defaultStore: () => Promise<DefaultStore>;
  /** The platforms wanted from a manifest list, best first: which of several images stored from one list a digest means. */
  readonly platforms?: readonly Platform[] | undefined;
}

/** Driver options naming additional image stores (`overlay.imagestore=PATH`, `additionalimagestore=PATH`). */
const IMAGE_STORE_OPTION = /^(?:[a-z0-9]+\.)?(?:imagestore|additionalimagestore)=(.+)$/;

/**
 * `containers-storage:`: images in the local store podman, buildah and CRI-O write, read
 * straight from the overlay or vfs driver's files, read only. The store is the one the
 * reference names in brackets, else storage.conf's; additional image stores are searched after
 * the primary one, as containers/storage searches them.
 */
export class StorageTransport implements Transport {
  readonly name: TransportName = 'containers-storage';

  constructor(private readonly options: StorageTransportOptions) {}

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'containers-storage') {
      throw new ProxyError('internal', `the containers-storage transport was asked to open a ${reference.transport} reference`);
    }
    const { primary, stores, options } = await this.storesFor(reference, signal);
    const found = await (await StoreImages.read(stores, signal)).find(reference, (image, digest) => this.storedForPlatform(image, digest, signal));
    const layers = await layerChain(found, stores, signal);
    const resolved: StorageReference = {
      ...found.reference,
      store: { driver: primary.driver, graphRoot: primary.graphRoot, runRoot: primary.runRoot, ...(options.length === 0 ? {} : { options }) },
    };
    const id = found.record.id;
    const named = found.reference.named;
    // The manifest the reference's digest names when the image keeps it, else the image's own.
    const byDigest =
      named?.digest !== undefined && found.record['big-data-names']?.includes(`manifest-${named.digest}`) ? `manifest-${named.digest}` : 'manifest';
    const bytes = await readBigData(found.store, id, byDigest, MAX_MANIFEST_BYTES, signal);
    if (bytes === undefined) {
      throw new ProxyError(
        'image-not-found',
        `image ${id} (containers-storage:${formatStorageReference(resolved)}) has no manifest in the store: it was removed, or never committed`,
      );
    }
    return new StorageSource({
      reference: resolved,
      image: found,
      layers,
      manifest: { bytes, mediaType: guessedMediaType(bytes, `${bigDataFile(found.store, id, byDigest)} (the manifest of image ${id})`) },
    });
  }

  /**
   * multiArchImageMatchesSystemContext: whether the image keeps the manifest list with this
   * digest and, of its instances, the one the wanted platform chooses.
   */
  private async storedForPlatform(image: StoredImage, digest: string, signal?: AbortSignal): Promise<boolean> {
    const platforms = this.options.platforms;
    if (platforms === undefined || platforms.length === 0) return false;
    const bytes = await readBigData(image.store, image.record.id, `manifest-${digest}`, MAX_MANIFEST_BYTES, signal).catch(() => undefined);
    if (bytes === undefined) return false;
    try {
      const list = parseManifest(bytes, guessManifestMediaType(bytes));
      if (list.kind !== 'oci-index' && list.kind !== 'docker-list') return false;
      return image.record['big-data-names']?.includes(`manifest-${chooseInstance(list, platforms).digest}`) ?? false;
    } catch {
      return false;
    }
  }

  private async storesFor(
    reference: StorageReference,
    signal?: AbortSignal,
  ): Promise<{ primary: StoreLayout; stores: StoreLayout[]; options: readonly string[] }> {
    const spec = reference.store;
    // GetStore: a reference's store specifier stands alone; storage.conf fills in only what it leaves out.
    const defaults =
      spec === undefined || spec.graphRoot === undefined || spec.runRoot === undefined || spec.driver === undefined
        ? await this.options.defaultStore()
        : undefined;
    // GetStore cleans both roots (filepath.Abs): the policy scope names the store as cleaned.
    const graphRoot = cleanPath(spec?.graphRoot ?? defaults!.graphRoot);
    const runRoot = cleanPath(spec?.runRoot ?? defaults!.runRoot);
    const options = spec === undefined ? defaults!.options : (spec.options ?? []);
    const named = spec === undefined ? defaults!.driver : spec.driver;
    signal?.throwIfAborted();
    const driver = readableDriver(named ?? (await detectDriver(graphRoot)) ?? defaults?.driver, graphRoot);
    const primary: StoreLayout = { driver, graphRoot, runRoot };
    const extra = [...(spec === undefined ? defaults!.additionalImageStores : []), ...options.flatMap((option) => IMAGE_STORE_OPTION.exec(option)?.[1] ?? [])];
    return { primary, stores: [primary, ...extra.map((root) => ({ driver, graphRoot: cleanPath(root) }))], options };
  }
}

/** Go's filepath.Clean for an absolute path: no "//", ".", ".." or trailing "/". */
function cleanPath(path: string): string {
  const cleaned = posix.normalize(path);
  return cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
}

function readableDriver(driver: string | undefined, graphRoot: string): ReadableDriver {
  if (driver === undefined)
    throw new ProxyError(
      'image-not-found',
      `no image store at ${graphRoot}: it holds no overlay-images or vfs-images directory, and storage.conf names no driver`,
    );
  const name = driver === 'overlay2' ? 'overlay' : driver;
  if (!(READABLE_DRIVERS as readonly string[]).includes(name)) {
    throw new ProxyError(
      'unsupported-transport',
      `the store at ${graphRoot} uses the ${driver} driver; this proxy reads only the ${READABLE_DRIVERS.join(' and ')} drivers' stores`,
    );
  }
  return name as ReadableDriver;
}

/** As containers/storage does for a store that names no driver: the one whose `<driver>-images` directory exists. */
async function detectDriver(graphRoot: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(graphRoot);
  } catch {
    return undefined;
  }
  const drivers = names.filter((name) => name.endsWith('-images')).map((name) => name.slice(0, -'-images'.length));
  return READABLE_DRIVERS.find((driver) => drivers.includes(driver)) ?? drivers[0];
}
