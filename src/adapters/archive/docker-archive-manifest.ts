/**
 * The `docker save` format as containers/image reads it: `manifest.json` is an array of
 * `{Config, RepoTags, Layers}`, one per image, and the image's manifest is generated: a docker
 * schema2 manifest whose layers are named by their diffIDs and served uncompressed.
 */
import { isDigest, type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { type DockerReference, dockerString, parseDockerReference } from '../../domain/reference.js';

export interface TarManifestItem {
  readonly config: string;
  readonly repoTags: readonly string[];
  readonly layers: readonly string[];
}

export function parseTarManifest(value: unknown, where: string): TarManifestItem[] {
  if (!Array.isArray(value)) throw new ProxyError('manifest-invalid', `${where}: expected an array of images`);
  return value.map((item: unknown, i: number) => parseItem(item, `${where}: item @${i}`));
}

function parseItem(item: unknown, where: string): TarManifestItem {
  if (!isObject(item)) throw new ProxyError('manifest-invalid', `${where} is not an object`);
  const { Config: config, RepoTags: repoTags, Layers: layers } = item;
  if (typeof config !== 'string' || config === '') throw new ProxyError('manifest-invalid', `${where}: Config is not a file name`);
  return { config, repoTags: stringList(repoTags, `${where}: RepoTags`), layers: stringList(layers, `${where}: Layers`) };
}

function stringList(value: unknown, where: string): string[] {
  // Go decodes a JSON null into an empty slice.
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
    throw new ProxyError('manifest-invalid', `${where} is not an array of strings`);
  }
  return value as string[];
}

export interface ArchiveSelector {
  readonly docker?: DockerReference | undefined;
  readonly index?: number | undefined;
}

/** Picks the image `docker-archive:PATH[:REF|@INDEX]` names (containers/image's ChooseManifestItem). */
export function chooseManifestItem(items: readonly TarManifestItem[], selector: ArchiveSelector, path: string): TarManifestItem {
  const { docker, index } = selector;
  if (index !== undefined) {
    const item = items[index];
    if (item === undefined)
      throw new ProxyError('image-not-found', `docker-archive:${path}:@${index}: index out of range, the archive has ${items.length} images`);
    return item;
  }
  if (docker !== undefined) return chooseByTag(items, dockerString(docker), path);
  const only = items[0];
  if (items.length === 1 && only !== undefined) return only;
  if (items.length === 0) throw new ProxyError('image-not-found', `docker-archive:${path}: the archive holds no images`);
  throw new ProxyError(
    'invalid-reference',
    `docker-archive:${path} holds ${items.length} images, choose one with docker-archive:${path}:NAME:TAG or docker-archive:${path}:@INDEX`,
  );
}

function chooseByTag(items: readonly TarManifestItem[], wanted: string, path: string): TarManifestItem {
  for (const [i, item] of items.entries()) {
    for (const tag of item.repoTags) {
      let parsed: DockerReference;
      try {
        parsed = parseDockerReference(tag);
      } catch (err) {
        throw new ProxyError('manifest-invalid', `docker-archive:${path}: invalid tag ${JSON.stringify(tag)} in manifest.json item @${i}`, { cause: err });
      }
      // Compared as written: a RepoTag without a tag does not stand for :latest here.
      if (dockerString(parsed) === wanted) return item;
    }
  }
  throw new ProxyError('image-not-found', `docker-archive:${path}: no image tagged ${wanted} in the archive`);
}

/** `rootfs.diff_ids` of an image config, one per layer of the item. */
export function configDiffIds(config: unknown, where: string): Digest[] {
  const rootfs = isObject(config) ? config.rootfs : undefined;
  const diffIds = isObject(rootfs) ? rootfs.diff_ids : undefined;
  if (!Array.isArray(diffIds)) throw new ProxyError('manifest-invalid', `${where}: the config has no rootfs.diff_ids array`);
  return diffIds.map((value: unknown, i: number) => {
    if (typeof value !== 'string' || !isDigest(value)) throw new ProxyError('manifest-invalid', `${where}: rootfs.diff_ids[${i}] is not a digest`);
    return value;
  });
}

export interface GeneratedLayer {
  readonly diffId: Digest;
  /** Uncompressed size. */
  readonly size: number;
}

/**
 * The manifest containers/image generates, byte for byte: Go's field order, no spaces, and every
 * layer typed `…tar.gzip` although it is served uncompressed (its digest is the diffID).
 */
export function generatedManifest(config: { digest: Digest; size: number }, layers: readonly GeneratedLayer[]): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerSchema2,
    config: { mediaType: MediaType.dockerConfig, size: config.size, digest: config.digest },
    layers: layers.map((layer) => ({ mediaType: MediaType.dockerLayerGzip, size: layer.size, digest: layer.diffId })),
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
