/**
 * The top of an OCI layout: `oci-layout` and `index.json`, and how `oci:PATH[:REF|@INDEX]`
 * picks one of index.json's descriptors (the rules of containers/image's oci/layout).
 */
import { isDigest, type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { jsonExcerpt } from '../../domain/json-writer.js';
import { MediaType } from '../../domain/media-types.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const IMAGE_LAYOUT_VERSION = '1.0.0';

/** The parts of an index.json descriptor this transport relies on. */
export interface LayoutDescriptor {
  /** '' when the descriptor has none. */
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly refName: string | undefined;
}

/** Media types a ref name may select; other artifacts in a layout are not images. */
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerSchema2, MediaType.dockerList]);

export function checkLayoutVersion(value: unknown, path: string): void {
  const version = isObject(value) ? value.imageLayoutVersion : undefined;
  if (version !== IMAGE_LAYOUT_VERSION) {
    throw new ProxyError('manifest-invalid', `${path}: unsupported imageLayoutVersion ${jsonExcerpt(version)}, expected "${IMAGE_LAYOUT_VERSION}"`);
  }
}

export function parseLayoutIndex(value: unknown, path: string): LayoutDescriptor[] {
  if (!isObject(value) || !Array.isArray(value.manifests)) {
    throw new ProxyError('manifest-invalid', `${path}: expected an object with a "manifests" array`);
  }
  return value.manifests.map((entry: unknown, i: number) => parseDescriptor(entry, `${path}: manifests[${i}]`));
}

function parseDescriptor(entry: unknown, where: string): LayoutDescriptor {
  if (!isObject(entry)) throw new ProxyError('manifest-invalid', `${where} is not an object`);
  const { mediaType, digest, size, annotations } = entry;
  if (mediaType !== undefined && typeof mediaType !== 'string') throw new ProxyError('manifest-invalid', `${where}: mediaType is not a string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw new ProxyError('manifest-invalid', `${where}: invalid digest ${jsonExcerpt(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw new ProxyError('manifest-invalid', `${where}: invalid size ${jsonExcerpt(size)}`);
  if (annotations !== undefined && !isObject(annotations)) throw new ProxyError('manifest-invalid', `${where}: annotations is not an object`);
  const refName = isObject(annotations) ? annotations[REF_NAME_ANNOTATION] : undefined;
  return { mediaType: mediaType ?? '', digest, size, refName: typeof refName === 'string' ? refName : undefined };
}

export interface LayoutSelector {
  readonly reference?: string | undefined;
  readonly index?: number | undefined;
}

/** Picks the descriptor `oci:PATH[:REF|@INDEX]` names; `layout` is only used in messages. */
export function selectDescriptor(descriptors: readonly LayoutDescriptor[], selector: LayoutSelector, layout: string): LayoutDescriptor {
  const { reference, index } = selector;
  if (reference !== undefined && index !== undefined) {
    throw new ProxyError('invalid-reference', `oci:${layout}: a reference and a source index cannot both be given`);
  }
  if (index !== undefined) {
    const chosen = descriptors[index];
    if (!Number.isSafeInteger(index) || index < 0 || chosen === undefined) {
      throw new ProxyError('image-not-found', `oci:${layout}@${index}: index out of range, the layout has ${descriptors.length} entries`);
    }
    return chosen;
  }
  if (reference !== undefined) return selectByName(descriptors, reference, layout);
  const only = descriptors[0];
  if (descriptors.length === 1 && only !== undefined) return only;
  if (descriptors.length === 0) throw new ProxyError('image-not-found', `oci:${layout}: the layout holds no images`);
  throw new ProxyError(
    'invalid-reference',
    `oci:${layout}: the layout holds ${descriptors.length} images, choose one with oci:${layout}:NAME or oci:${layout}@INDEX`,
  );
}

function selectByName(descriptors: readonly LayoutDescriptor[], reference: string, layout: string): LayoutDescriptor {
  const named = descriptors.filter((descriptor) => descriptor.refName === reference);
  const image = named.find((descriptor) => IMAGE_MEDIA_TYPES.has(descriptor.mediaType));
  if (image !== undefined) return image;
  if (named.length > 0) {
    const types = named.map((descriptor) => JSON.stringify(descriptor.mediaType)).join(', ');
    throw new ProxyError('manifest-unsupported', `oci:${layout}:${reference} names no image: its entries have media types ${types}`);
  }
  throw new ProxyError('image-not-found', `oci:${layout}:${reference}: no image named ${JSON.stringify(reference)} in the layout`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
