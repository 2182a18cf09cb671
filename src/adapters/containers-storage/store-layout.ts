/**
 * Where the overlay and vfs graph drivers of containers/storage keep things, and reading the
 * records they keep there. Read only: no file is opened for writing and no lock is taken (the
 * records are replaced by rename, so a read sees an old or a new file, never half of one).
 */
import { join } from 'node:path';
import { type ErrorCode, jsonSyntaxPlace, ProxyError } from '../../domain/errors.js';
import { readRegularFile } from '../file-system/regular-file.js';

/** The drivers whose on-disk layout this adapter reads. */
export const READABLE_DRIVERS = ['overlay', 'vfs'] as const;
export type ReadableDriver = (typeof READABLE_DRIVERS)[number];

/** One store: the primary one (with its run root) or an additional, read-only image store. */
export interface StoreLayout {
  readonly driver: ReadableDriver;
  readonly graphRoot: string;
  /** Only the primary store has one: volatile layer records live there. */
  readonly runRoot?: string | undefined;
}

/** An entry of `<driver>-images/images.json`, with the fields this adapter reads. */
export interface ImageRecord {
  readonly id: string;
  readonly digest?: string;
  readonly digests?: readonly string[];
  readonly names?: readonly string[];
  /** The top layer; an image without layers has none. */
  readonly layer?: string;
  /** JSON text: `signature-sizes` and `signatures-sizes` as containers/image writes them. */
  readonly metadata?: string;
  readonly 'big-data-names'?: readonly string[];
  readonly 'big-data-digests'?: Readonly<Record<string, string>>;
}

/** An entry of `<driver>-layers/layers.json` (or the run root's `volatile-layers.json`). */
export interface LayerRecord {
  readonly id: string;
  readonly parent?: string;
  readonly 'diff-digest'?: string;
  readonly 'diff-size'?: number;
  readonly 'compressed-diff-digest'?: string;
  readonly 'toc-digest'?: string;
}

/** The records can be large in a busy store, but not this large. */
const MAX_RECORDS_BYTES = 256 * 1024 * 1024;
/** Store-generated IDs name files and directories: they must stay one path component. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function imagesFile(store: StoreLayout): string {
  return join(store.graphRoot, `${store.driver}-images`, 'images.json');
}

export function layersFiles(store: StoreLayout): string[] {
  const files = [join(store.graphRoot, `${store.driver}-layers`, 'layers.json')];
  if (store.runRoot !== undefined) files.push(join(store.runRoot, `${store.driver}-layers`, 'volatile-layers.json'));
  return files;
}

export function bigDataFile(store: StoreLayout, imageId: string, key: string): string {
  return join(store.graphRoot, `${store.driver}-images`, safeId(imageId, 'image'), bigDataFileName(key));
}

export function tarSplitFile(store: StoreLayout, layerId: string): string {
  return join(store.graphRoot, `${store.driver}-layers`, `${safeId(layerId, 'layer')}.tar-split.gz`);
}

/** The directory holding the layer's own files (its diff), as the driver lays it out. */
export function layerDirectory(store: StoreLayout, layerId: string): string {
  const id = safeId(layerId, 'layer');
  return store.driver === 'overlay' ? join(store.graphRoot, 'overlay', id, 'diff') : join(store.graphRoot, 'vfs', 'dir', id);
}

/**
 * containers/storage's makeBigDataBaseName: a key of only lower-case letters, digits and dots
 * is the file name itself, anything else is "=" and the key in standard base64. Its scan stops
 * after the first other character, so a key whose only other character is its last one (or
 * the empty key) is kept as it is too.
 */
export function bigDataFileName(key: string): string {
  const length = Buffer.byteLength(key, 'utf8');
  let consumed = 0;
  for (const char of key) {
    const size = Buffer.byteLength(char, 'utf8');
    consumed += size;
    if (size !== 1 || !/[.0-9a-z]/.test(char)) break;
  }
  return consumed < length ? `=${Buffer.from(key, 'utf8').toString('base64')}` : key;
}

function safeId(id: string, what: string): string {
  if (!SAFE_ID.test(id)) throw new ProxyError('io', `the store records a ${what} ID ${JSON.stringify(id)} that cannot name a file`);
  return id;
}

/** What the file-system error means for a store file, with the rootless case spelled out. */
export function storeFileError(err: unknown, path: string, missing: { code: ErrorCode; message: string }): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ProxyError(missing.code, missing.message, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') {
    return new ProxyError(
      'io',
      `cannot read ${path}: permission denied. A rootless store keeps files owned by the other user IDs of its user namespace; run the proxy under "podman unshare" (as the store's owner) to read them`,
      { cause: err },
    );
  }
  return new ProxyError('io', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
}

/** A JSON records file; a store that never wrote one (no layers yet, no volatile layers) has none. */
export async function readRecords<T extends { readonly id: string }>(path: string, signal?: AbortSignal): Promise<T[]> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readRegularFile(path, MAX_RECORDS_BYTES, signal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw storeFileError(err, path, { code: 'io', message: `cannot read ${path}` });
  }
  if (bytes === undefined) throw new ProxyError('io', `${path} is larger than ${MAX_RECORDS_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ProxyError('io', `${path} is not valid JSON${jsonSyntaxPlace(err)}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || parsed.some((entry) => typeof entry !== 'object' || entry === null || typeof (entry as { id?: unknown }).id !== 'string')) {
    throw new ProxyError('io', `${path} is not a list of records with string IDs`);
  }
  for (const record of parsed as Record<string, unknown>[]) {
    const wrong = Object.entries(FIELD_TYPES).find(([field, valid]) => record[field] !== undefined && record[field] !== null && !valid(record[field]));
    if (wrong !== undefined)
      throw new ProxyError('io', `${path}: the ${wrong[0]} of record ${JSON.stringify(record['id'])} is not what containers/storage writes there`);
  }
  return parsed as T[];
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isStringList = (value: unknown): boolean => Array.isArray(value) && value.every(isString);
/**
 * The record fields this adapter reads, typed as containers/storage writes them: a names field
 * holding one string instead of a list would otherwise match any name it contains.
 */
const FIELD_TYPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  names: isStringList,
  digests: isStringList,
  'big-data-names': isStringList,
  'big-data-digests': (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(isString),
  digest: isString,
  layer: isString,
  metadata: isString,
  parent: isString,
  'diff-digest': isString,
  'compressed-diff-digest': isString,
  'diff-size': (value) => typeof value === 'number',
};

/** One of the image's big data items (a manifest, the config, signatures), whole. */
export async function readBigData(store: StoreLayout, imageId: string, key: string, limit: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
  const path = bigDataFile(store, imageId, key);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readRegularFile(path, limit, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storeFileError(err, path, { code: 'io', message: `cannot read ${path}` });
  }
  if (bytes === undefined) throw new ProxyError('io', `${path} (${key} of image ${imageId}) is larger than ${limit} bytes`);
  return bytes;
}
