/**
 * A tar archive walked once: every entry's name, type, size and where its data starts, so that
 * later reads open just that byte range of the file. Nothing is extracted or kept in memory
 * beyond the list of entries. A compressed archive (as containers/image accepts) is indexed by
 * offsets in the decompressed stream, and each read decompresses from the start up to its range.
 */
import { posix } from 'node:path';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { ProxyError } from '../../domain/errors.js';
import { MAX_TAR_INDEX_BYTES } from '../../domain/size-limits.js';
import { openRegularFile, regularFileStream } from '../file-system/regular-file.js';
import { type DetectedCompression, detectCompression, MAGIC_LENGTH } from '../../domain/layers.js';
import { decompressorFor } from './compression.js';

const HEADER_BLOCK = 512;
/** What one entry costs in memory besides its name and link target, counted against the index's limit. */
const ENTRY_OVERHEAD_BYTES = 256;

export type TarEntryType = 'file' | 'symlink' | 'link' | 'directory' | 'other';

export interface TarEntry {
  /** The name as `path.Clean` gives it: no `./` prefix, no trailing `/`. */
  readonly name: string;
  readonly type: TarEntryType;
  readonly size: number;
  /** Offset of the entry's data in the (decompressed) archive. */
  readonly offset: number;
  readonly linkname: string;
}

/** Go's path.Clean, which containers/image applies to names in the archive and in manifest.json. */
export function cleanTarName(name: string): string {
  const cleaned = posix.normalize(name).replace(/\/+$/, '');
  if (cleaned === '' || cleaned === '.') return '.';
  return cleaned.startsWith('./') ? cleaned.slice(2) : cleaned;
}

function entryType(header: Header): TarEntryType {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'symlink':
    case 'link':
    case 'directory':
      return header.type;
    default:
      return 'other';
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export class TarIndex {
  private constructor(
    /** The archive file, as the reference names it. */
    readonly path: string,
    /** What messages call the archive: its path, unless the file is only a copy of something else. */
    readonly name: string,
    readonly compression: DetectedCompression,
    private readonly entries: ReadonlyMap<string, TarEntry>,
  ) {}

  /** Walks the archive once. A missing file is `image-not-found`; anything not a tar is `manifest-invalid`. */
  static async build(path: string, signal?: AbortSignal, name: string = path): Promise<TarIndex> {
    signal?.throwIfAborted();
    const compression = await sniff(path);
    const entries = new Map<string, TarEntry>();
    let indexed = 0;
    try {
      await walk(path, compression, signal, (entry) => {
        // containers/image reads the first entry of a name.
        if (entries.has(entry.name)) return;
        indexed += ENTRY_OVERHEAD_BYTES + entry.name.length + entry.linkname.length;
        if (indexed > MAX_TAR_INDEX_BYTES) {
          throw new ProxyError('manifest-invalid', `${name}: indexing its entries takes more than the ${MAX_TAR_INDEX_BYTES} bytes allowed`);
        }
        entries.set(entry.name, entry);
      });
    } catch (err) {
      if (isAbort(err) || err instanceof ProxyError) throw err;
      throw new ProxyError('manifest-invalid', `${name} is not a readable tar archive: ${(err as Error).message}`, { cause: err });
    }
    return new TarIndex(path, name, compression, entries);
  }

  /**
   * The regular file at `name`, following one symbolic or hard link as containers/image does
   * (a symlink's target is relative to the link's directory); undefined when there is none.
   */
  find(name: string): TarEntry | undefined {
    const wanted = cleanTarName(name);
    let entry = this.entries.get(wanted);
    if (entry?.type === 'symlink') entry = this.entries.get(cleanTarName(posix.join(posix.dirname(wanted), entry.linkname)));
    else if (entry?.type === 'link') entry = this.entries.get(cleanTarName(entry.linkname));
    if (entry === undefined) return undefined;
    if (entry.type !== 'file') {
      throw new ProxyError('manifest-invalid', `${this.name}: ${wanted} is not a regular file in the archive`);
    }
    return entry;
  }

  /** Streams an entry's data; the signal also stops a flowing stream. */
  stream(entry: TarEntry, signal?: AbortSignal): Readable {
    signal?.throwIfAborted();
    const options = signal === undefined ? {} : { signal };
    if (this.compression === 'none') {
      if (entry.size === 0) return Readable.from([]);
      return regularFileStream(this.path, { ...options, start: entry.offset, end: entry.offset + entry.size - 1 });
    }
    const decompressed = pipeline(regularFileStream(this.path, options), decompressorFor(this.compression, this.name)!, () => undefined);
    const sliced = Readable.from(slice(decompressed, entry.offset, entry.size, `${this.name}: ${entry.name}`), { objectMode: false });
    return signal === undefined ? sliced : addAbortSignal(signal, sliced);
  }

  /** Reads a small entry whole (manifests, configs, index files), refusing ones above `limit`. */
  async read(entry: TarEntry, limit: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (entry.size > limit) {
      throw new ProxyError('manifest-invalid', `${this.name}: ${entry.name} is ${entry.size} bytes, more than the ${limit} allowed`);
    }
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of this.stream(entry, signal) as AsyncIterable<Uint8Array>) chunks.push(chunk);
    } catch (err) {
      if (isAbort(err) || err instanceof ProxyError) throw err;
      throw new ProxyError('io', `cannot read ${entry.name} from ${this.name}: ${(err as Error).message}`, { cause: err });
    }
    return Buffer.concat(chunks);
  }
}

async function sniff(path: string): Promise<DetectedCompression> {
  let handle;
  try {
    ({ handle } = await openRegularFile(path));
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ProxyError('image-not-found', `no archive at ${path}`, { cause: err });
    throw new ProxyError('io', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const head = new Uint8Array(MAGIC_LENGTH);
    const { bytesRead } = await handle.read(head, 0, MAGIC_LENGTH, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function walk(path: string, compression: DetectedCompression, signal: AbortSignal | undefined, record: (entry: TarEntry) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = extract();
    parser.on('entry', (header, stream, next) => {
      // `stream.offset` is where the entry's own header starts, after any pax or GNU long-name blocks.
      try {
        record({
          name: cleanTarName(header.name),
          type: entryType(header),
          size: header.size ?? 0,
          offset: stream.offset + HEADER_BLOCK,
          linkname: header.linkname ?? '',
        });
      } catch (err) {
        fail(err as Error);
        return;
      }
      stream.on('end', () => next());
      // An archive that ends inside an entry fails that entry's stream too: unheard, the error would crash the process.
      stream.on('error', (err) => fail(err));
      stream.resume();
    });
    const file = regularFileStream(path, { signal });
    const decompressor = decompressorFor(compression, path);
    const input = decompressor === undefined ? file : pipeline(file, decompressor, () => undefined);
    const fail = (err: Error): void => {
      file.destroy();
      parser.destroy();
      reject(err);
    };
    input.on('error', fail);
    parser.on('error', fail);
    parser.on('finish', () => resolve());
    input.pipe(parser);
  });
}

/** The `length` bytes at `start` of a stream, then stops reading it. */
async function* slice(input: Readable, start: number, length: number, what: string): AsyncGenerator<Uint8Array> {
  let position = 0;
  let remaining = length;
  if (remaining === 0) return;
  for await (const chunk of input as AsyncIterable<Uint8Array>) {
    const from = Math.max(0, start - position);
    position += chunk.length;
    if (from >= chunk.length) continue;
    const piece = chunk.subarray(from, from + remaining);
    remaining -= piece.length;
    yield piece;
    if (remaining === 0) return;
  }
  throw new ProxyError('manifest-invalid', `${what} ends before its ${length} bytes`);
}
