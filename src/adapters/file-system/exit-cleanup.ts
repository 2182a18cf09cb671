import { rmSync } from 'node:fs';

/**
 * Private temporary directories must not outlive the process. Their owner removes them when done;
 * for the ones still there when the process ends, an 'exit' listener removes them synchronously.
 * That covers every way the proxy ends on its own: POST /quit, the last peer hanging up, a fatal
 * error, and SIGINT/SIGTERM, which the CLI turns into an orderly exit. (SIGKILL cannot be caught.)
 * A directory is registered before it is made, so an exit at any moment after leaves nothing.
 */
const pending = new Set<string>();
let listening = false;

function removeAll(): void {
  for (const directory of pending) {
    try {
      rmSync(directory, { recursive: true, force: true });
    } catch {
      // The process is ending: what cannot be removed stays, and the others still go.
    }
  }
  pending.clear();
}

/** Removes `directory` at exit; the returned function cancels that. */
export function removeAtExit(directory: string): () => void {
  if (!listening) {
    process.once('exit', removeAll);
    listening = true;
  }
  pending.add(directory);
  return () => void pending.delete(directory);
}
