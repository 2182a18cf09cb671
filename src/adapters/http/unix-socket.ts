import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { ProxyError } from '../../domain/errors.js';

/** Whether a process accepts connections on the unix socket at `path` (a refused connect means none does). */
function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
}

/**
 * Makes `path` free for a new socket. A socket left behind by a proxy that was killed (nobody
 * accepts on it) is removed; anything else at the path is refused and left alone: a live socket
 * belongs to another process, and a file that is not a socket is not ours to delete.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  const refuse = (why: string, cause?: unknown): ProxyError => new ProxyError('io', `cannot listen on unix:${path}: ${why}`, { cause });
  let stats;
  try {
    stats = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw refuse((err as Error).message, err);
  }
  if (!stats.isSocket()) throw refuse('the path exists and is not a socket; it was left untouched');
  let live: boolean;
  try {
    live = await somebodyListens(path);
  } catch (err) {
    throw refuse(`cannot tell whether another process listens there: ${(err as Error).message}`, err);
  }
  if (live) throw refuse('another process is listening on it');
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw refuse(`cannot remove the stale socket: ${err.message}`, err);
  });
}

/**
 * Runs `bind` (which must create the socket synchronously, as `net.Server.listen(path)` does in
 * the main thread) with a umask that leaves the socket readable and writable by its owner only:
 * a mode set afterwards would leave a moment in which anyone could connect.
 */
export function withOwnerOnlyUmask(bind: () => void): void {
  const previous = process.umask(0o177);
  try {
    bind();
  } finally {
    process.umask(previous);
  }
}
