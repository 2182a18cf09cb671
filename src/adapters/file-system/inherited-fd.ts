import { fstatSync, readSync } from 'node:fs';
import { Socket } from 'node:net';

/** One read is a password, not a stream: anything longer is not one. */
const MAX_READ_BYTES = 64 * 1024;

export class InheritedFdProblem extends Error {}

/**
 * What the first read of an inherited file descriptor brings, as ocicrypt reads a password from
 * `fd=N`: one read, so a parent may write the password and keep its end of a pipe open. A pipe
 * or socket is read through the event loop and given `waitMs` to bring something, so a parent
 * that never writes stops the start with an error instead of hanging it: a blocking read cannot
 * be abandoned (on the threadpool it even keeps the process from exiting). The descriptor is
 * closed afterwards, as ocicrypt closes it. Other files (a regular file, a terminal) are read at once.
 */
export function readFirstChunk(fd: number, waitMs: number): Promise<Uint8Array> {
  try {
    const stats = fstatSync(fd);
    if (!stats.isFIFO() && !stats.isSocket()) {
      const buffer = Buffer.alloc(MAX_READ_BYTES);
      return Promise.resolve(buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, null)));
    }
  } catch (err) {
    return Promise.reject(problem(err as NodeJS.ErrnoException));
  }
  return new Promise((resolve, reject) => {
    const socket = new Socket({ fd, readable: true, writable: false });
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(() => settle(() => reject(new InheritedFdProblem(`nothing was written to it within ${waitMs / 1000} s`))), waitMs);
    socket.once('data', (chunk: Buffer) => settle(() => resolve(chunk.subarray(0, MAX_READ_BYTES))));
    socket.once('end', () => settle(() => resolve(new Uint8Array(0))));
    socket.once('error', (err: NodeJS.ErrnoException) => settle(() => reject(problem(err))));
  });
}

function problem(err: NodeJS.ErrnoException): InheritedFdProblem {
  return new InheritedFdProblem(err.code ?? err.message);
}
