/**
 * A stored layer's uncompressed tar, rebuilt byte for byte as containers/storage rebuilds it
 * (vbatts/tar-split's asm.WriteOutputTarStream): `<id>.tar-split.gz` is gzipped JSON lines, each
 * either a raw segment of the original tar (type 2: headers, padding, the end blocks; base64
 * payload) or a file entry (type 1: name, size) whose content is read from the layer's
 * directory. Streamed one chunk at a time: memory stays flat whatever the layer's size. The
 * result is checked against the layer's diff ID by the caller, like every blob.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { posix, relative, sep } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ProxyError } from '../../domain/errors.js';
import { regularFileStream } from '../file-system/regular-file.js';
import { storeFileError } from './store-layout.js';

export interface LayerFiles {
  readonly layerId: string;
  readonly tarSplit: string;
  /** The store's graph root: what lies below it is read without following any link. */
  readonly graphRoot: string;
  /** The layer's directory, below the graph root. */
  readonly directory: string;
}

/**
 * A line holds one tar header (with its PAX records) or the bytes after the archive's end; a
 * gzip of one endless line must not grow a string until memory runs out.
 */
const MAX_LINE = 32 * 1024 * 1024;
const SEGMENT = 2;
const FILE = 1;
/** 256 KiB reads: as fast as 1 MiB ones here, with ~35 MiB less peak RSS (bench/local-store.ts); a small file is read in one. */
const READ_CHUNK = 256 * 1024;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

interface TarSplitEntry {
  readonly type: number;
  readonly name?: string;
  readonly name_raw?: string;
  readonly size?: number;
  readonly payload?: string | null;
}

/** The layer's tar as a byte stream; a missing or changed file fails the stream, never ends it early. */
export function assembleLayerTar(layer: LayerFiles, signal?: AbortSignal): Readable {
  return Readable.from(assemble(layer, signal), { objectMode: false, highWaterMark: READ_CHUNK });
}

async function* assemble(layer: LayerFiles, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const files = new LayerDirectory(layer);
  try {
    for await (const entry of entries(layer, signal)) {
      if (entry.type === SEGMENT) {
        if (entry.payload) yield Buffer.from(entry.payload, 'base64');
      } else if (entry.type === FILE) {
        if (entry.size) yield* files.contents(entry, entry.size, signal);
      } else {
        throw corrupt(layer, `an entry of unknown type ${JSON.stringify(entry.type)}`);
      }
    }
  } finally {
    await files.close();
  }
}

/** The JSON lines of the gzipped tar-split file, parsed one by one. */
async function* entries(layer: LayerFiles, signal?: AbortSignal): AsyncGenerator<TarSplitEntry> {
  const gunzip = process.getBuiltinModule('node:zlib').createGunzip();
  const source = regularFileStream(layer.tarSplit, { signal });
  const lines = pipeline(source, gunzip, () => undefined);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  try {
    for await (const chunk of lines as AsyncIterable<Buffer>) {
      // Only the new text is searched: a long line is not scanned again for each chunk it grows by.
      const text = decoder.write(chunk);
      let start = 0;
      let newline: number;
      while ((newline = text.indexOf('\n', start)) !== -1) {
        const line = pending + text.slice(start, newline);
        pending = '';
        start = newline + 1;
        if (line !== '') yield parseEntry(line, layer);
      }
      pending += text.slice(start);
      if (pending.length > MAX_LINE) throw corrupt(layer, `a line longer than ${MAX_LINE} characters`);
    }
  } catch (err) {
    if (err instanceof ProxyError || signal?.aborted) throw err;
    if ((err as { code?: string }).code?.startsWith('Z_')) throw corrupt(layer, `its gzip stream is damaged (${(err as Error).message})`);
    throw storeFileError(err, layer.tarSplit, {
      code: 'blob-not-found',
      message: `layer ${layer.layerId} was removed from the store while it was read (${layer.tarSplit} is gone)`,
    });
  }
  pending += decoder.end();
  if (pending.trim() !== '') yield parseEntry(pending, layer);
}

function parseEntry(line: string, layer: LayerFiles): TarSplitEntry {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    throw corrupt(layer, 'a line that is not JSON');
  }
  if (typeof entry !== 'object' || entry === null || typeof (entry as TarSplitEntry).type !== 'number') throw corrupt(layer, 'an entry without a type');
  const size = (entry as TarSplitEntry).size;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw corrupt(layer, `a file entry of size ${JSON.stringify(size)}`);
  return entry as TarSplitEntry;
}

function corrupt(layer: LayerFiles, what: string): ProxyError {
  return new ProxyError('io', `the tar-split record ${layer.tarSplit} of layer ${layer.layerId} holds ${what}`);
}

/**
 * Files of one layer directory, opened the way openat(2) with O_NOFOLLOW opens them: the graph
 * root as configured, then every component below it (driver directory, layer, `diff`, each
 * directory of a name, the file) with O_NOFOLLOW, relative to the handle of the directory before
 * it (through /proc/self/fd, Node having no openat). A symbolic link anywhere below the graph
 * root, or one swapped in while the layer is read, fails the read instead of leading to another
 * file's bytes, which would reach the client before the digest check fails. Names are handled
 * as latin1 strings so that any byte sequence a tar name holds maps to the same bytes on disk.
 */
class LayerDirectory {
  private root: Promise<FileHandle> | undefined;
  /** The directories of the last file's name, outermost first, kept open while names share them. */
  private readonly opened: { readonly name: string; readonly handle: FileHandle }[] = [];

  constructor(private readonly layer: LayerFiles) {}

  async *contents(entry: TarSplitEntry, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const name = this.relativeName(entry);
    const components = name.split('/');
    const parent = await this.directoryOf(components.slice(0, -1), name);
    let handle: FileHandle;
    try {
      handle = await openBelow(parent, components.at(-1)!, FILE_FLAGS);
    } catch (err) {
      throw this.fileError(err, name);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw this.changed(name, 'is no longer a regular file');
      if (stats.size !== size) throw this.changed(name, `is ${stats.size} bytes, the layer's record says ${size}`);
      let remaining = size;
      while (remaining > 0) {
        signal?.throwIfAborted();
        const wanted = Math.min(remaining, READ_CHUNK);
        const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(wanted), 0, wanted, null);
        if (bytesRead === 0) throw this.changed(name, `ended ${remaining} bytes early`);
        remaining -= bytesRead;
        yield bytesRead === wanted ? buffer : buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {
    const handles = this.opened.splice(0).map((dir) => dir.handle);
    const root = await this.root?.catch(() => undefined);
    await Promise.all([...handles, ...(root === undefined ? [] : [root])].map((handle) => handle.close()));
  }

  private relativeName(entry: TarSplitEntry): string {
    const raw = entry.name_raw !== undefined ? Buffer.from(entry.name_raw, 'base64') : Buffer.from(entry.name ?? '', 'utf8');
    const name = raw.toString('latin1');
    // containers/storage refuses such a name when it extracts a layer; one here was not written by it.
    if (name.split('/').includes('..')) throw corrupt(this.layer, `a file name that leaves the layer directory`);
    const cleaned = posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
    if (cleaned === '' || cleaned === '.') throw corrupt(this.layer, 'a file entry without a name');
    return cleaned;
  }

  /** The layer directory itself: the graph root as configured, each component below it no link. */
  private rootHandle(): Promise<FileHandle> {
    this.root ??= (async () => {
      const below = relative(this.layer.graphRoot, this.layer.directory).split(sep);
      if (below.includes('..') || below.includes(''))
        throw new ProxyError('internal', `layer directory ${this.layer.directory} is not below the graph root ${this.layer.graphRoot}`);
      let handle = await open(this.layer.graphRoot, DIRECTORY_FLAGS);
      for (const component of below) {
        try {
          const next = await openBelow(handle, component, DIRECTORY_FLAGS | constants.O_NOFOLLOW);
          await handle.close();
          handle = next;
        } catch (err) {
          await handle.close();
          throw err;
        }
      }
      return handle;
    })().catch((err: unknown) => {
      if (isLinkError(err))
        throw new ProxyError(
          'io',
          `${this.layer.directory}, the directory of layer ${this.layer.layerId}, lies behind a symbolic link: the store was changed or damaged`,
        );
      throw storeFileError(err, this.layer.directory, {
        code: 'blob-not-found',
        message: `layer ${this.layer.layerId} was removed from the store (${this.layer.directory} is gone)`,
      });
    });
    return this.root;
  }

  /** The directory holding a file, opened component by component, reusing what the last name opened. */
  private async directoryOf(components: readonly string[], name: string): Promise<FileHandle> {
    let shared = 0;
    while (shared < components.length && shared < this.opened.length && this.opened[shared]!.name === components[shared]) shared++;
    await Promise.all(this.opened.splice(shared).map((dir) => dir.handle.close()));
    let handle = shared === 0 ? await this.rootHandle() : this.opened[shared - 1]!.handle;
    for (const component of components.slice(shared)) {
      try {
        handle = await openBelow(handle, component, DIRECTORY_FLAGS | constants.O_NOFOLLOW);
      } catch (err) {
        throw this.fileError(err, name);
      }
      this.opened.push({ name: component, handle });
    }
    return handle;
  }

  private fileError(err: unknown, name: string): ProxyError {
    if (isLinkError(err)) return this.changed(name, 'is, or lies behind, a symbolic link');
    return storeFileError(err, `${this.layer.directory}/${printable(name)}`, {
      code: 'blob-not-found',
      message: `file ${printable(name)} of layer ${this.layer.layerId} is missing: the layer was removed or changed while it was read`,
    });
  }

  private changed(name: string, what: string): ProxyError {
    return new ProxyError('io', `file ${printable(name)} of layer ${this.layer.layerId} ${what}: the store was changed or damaged`);
  }
}

/** openat(directory, name, flags): the /proc/self/fd link names the open directory itself, whatever was renamed since. */
function openBelow(directory: FileHandle, name: string, flags: number): Promise<FileHandle> {
  return open(Buffer.concat([Buffer.from(`/proc/self/fd/${directory.fd}/`), Buffer.from(name, 'latin1')]), flags);
}

/** O_NOFOLLOW on a link fails with ELOOP; O_DIRECTORY on a link with ENOTDIR. */
function isLinkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ELOOP' || code === 'ENOTDIR';
}

function printable(latin1Name: string): string {
  return JSON.stringify(Buffer.from(latin1Name, 'latin1').toString('utf8'));
}
