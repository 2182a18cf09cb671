/**
 * Local files named by a reference or `?image=` may be anything: only regular files are read.
 * An ordinary open of a FIFO blocks a libuv threadpool worker until a writer appears, and four
 * such opens stall every file and DNS operation of the process, registry images included. So
 * files are opened with O_NONBLOCK (a FIFO then opens at once; a regular file is unaffected) and
 * the type of the opened handle is checked, never a separate stat of the path, which a rename
 * could change in between. Symbolic links are followed, so a link counts as what it points to.
 */
import { constants, close, createReadStream, fstat, open as openCallback, read, type ReadStream, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ProxyError } from '../../domain/errors.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const READ_CHUNK = 64 * 1024;

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notRegular(path: string, kind: string): ProxyError {
  return new ProxyError('io', `cannot read ${path}: it is ${kind}, and only regular files are read`);
}

/** Opening a unix socket fails with ENXIO: that is a wrong file type too, not a missing file. */
function openError(err: unknown, path: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENXIO' ? notRegular(path, 'a socket or a device without a driver') : err;
}

/**
 * Opens a regular file for reading. A file of any other type is an `io` ProxyError naming it;
 * other failures (ENOENT, EACCES…) are thrown as the file system reports them.
 */
export async function openRegularFile(path: string): Promise<{ readonly handle: FileHandle; readonly size: number }> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    throw openError(err, path);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(path, kindOf(stats));
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Reads a regular file whole if it holds at most `limit` bytes; undefined when it holds more
 * (the size is checked before reading and again while reading, for a file that grows).
 */
export async function readRegularFile(path: string, limit: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
  signal?.throwIfAborted();
  const { handle, size } = await openRegularFile(path);
  try {
    if (size > limit) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(READ_CHUNK), 0, READ_CHUNK, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      total += bytesRead;
      if (total > limit) return undefined;
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** `fs.open` that fails for anything but a regular file, for streams that open lazily. */
function openRegularFd(path: string, _flags: unknown, mode: number, callback: (err: NodeJS.ErrnoException | null, fd?: number) => void): void {
  openCallback(path, READ_FLAGS, mode, (openErr, fd) => {
    if (openErr !== null) return callback(openError(openErr, path) as NodeJS.ErrnoException);
    fstat(fd, (statErr, stats) => {
      if (statErr === null && stats.isFile()) return callback(null, fd);
      close(fd, () => callback(statErr ?? (notRegular(path, kindOf(stats)) as NodeJS.ErrnoException)));
    });
  });
}

/** A read stream of a regular file (or a byte range of it); any other type fails the stream. */
export function regularFileStream(
  path: string,
  options: { readonly start?: number; readonly end?: number; readonly signal?: AbortSignal | undefined },
): ReadStream {
  const { signal, ...range } = options;
  return createReadStream(path, { ...range, ...(signal === undefined ? {} : { signal }), fs: { open: openRegularFd, read, close } });
}
