import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Temporary exports must not outlive the process. Closing an image removes its export; for the
 * ones still open when the process ends, an 'exit' listener removes them synchronously. That
 * covers every way the proxy ends on its own: POST /quit, the last peer hanging up, a fatal
 * error, and SIGINT/SIGTERM, which the CLI turns into an orderly exit. (SIGKILL cannot be caught.)
 */
const pending = new Set<string>();
let listening = false;

function removeAll(): void {
  for (const directory of pending) rmSync(directory, { recursive: true, force: true });
  pending.clear();
}

/** Removes the private directory holding `file` at exit; the returned function cancels that. */
export function removeAtExit(file: string): () => void {
  const directory = dirname(file);
  if (!listening) {
    process.once('exit', removeAll);
    listening = true;
  }
  pending.add(directory);
  return () => void pending.delete(directory);
}
