/**
 * An OCI image layout is the same files wherever it is stored: `oci-layout`, `index.json` and
 * `blobs/<algorithm>/<hex>`. `LayoutFiles` is the storage (a directory, a tar archive); everything
 * that reads the layout's contents is written once, against it.
 */
import { MAX_ARCHIVE_MANIFEST_BYTES, MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type BlobBody } from '../../ports/transport.js';
import { type MissingFile, parseJsonFile } from './local-files.js';
import { checkLayoutVersion, type LayoutDescriptor, parseLayoutIndex } from './oci-index.js';

export interface LayoutFiles {
  /** What the storage is, for messages: `OCI layout PATH`, `OCI archive PATH`. */
  readonly description: string;
  /** How messages name one of its files. */
  nameOf(relativePath: string): string;
  /** Reads a small file whole, refusing one above `limit` bytes with `manifest-invalid`. */
  read(relativePath: string, limit: number, missing: MissingFile, signal?: AbortSignal): Promise<Uint8Array>;
  /** Streams a file, with the size the storage records for it. */
  stream(relativePath: string, missing: MissingFile, signal?: AbortSignal): Promise<BlobBody>;
}

/** What to report when one of the layout's top files is absent: transports word it differently. */
export interface MissingTopFiles {
  readonly layoutFile: MissingFile;
  readonly index: MissingFile;
}

/** Checks `oci-layout` and returns the descriptors of `index.json`. */
export async function readLayoutIndex(files: LayoutFiles, missing: MissingTopFiles, signal?: AbortSignal): Promise<LayoutDescriptor[]> {
  const layoutFile = files.nameOf('oci-layout');
  const layoutBytes = await files.read('oci-layout', MAX_ARCHIVE_MANIFEST_BYTES, missing.layoutFile, signal);
  checkLayoutVersion(parseJsonFile(layoutBytes, layoutFile), layoutFile);

  const indexFile = files.nameOf('index.json');
  const indexBytes = await files.read('index.json', MAX_MANIFEST_BYTES, missing.index, signal);
  return parseLayoutIndex(parseJsonFile(indexBytes, indexFile), indexFile);
}
