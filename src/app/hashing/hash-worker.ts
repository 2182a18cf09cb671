import { type Hash } from 'node:crypto';

/**
 * What the main thread sends: a hash is started with the shared memory its batches are copied
 * into (`slots` of `slotBytes` each), fed filled slots, then ended or dropped.
 */
export type ToHashWorker =
  | { readonly job: number; readonly algorithm: string; readonly memory: SharedArrayBuffer; readonly slotBytes: number }
  | { readonly job: number; readonly slot: number; readonly length: number }
  | { readonly job: number; readonly end: true }
  | { readonly job: number; readonly drop: true };

/** What the worker answers: a slot it is done with, the digest, or why there is none. */
export type FromHashWorker =
  | { readonly job: number; readonly slot: number }
  | { readonly job: number; readonly digestHex: string }
  | { readonly job: number; readonly error: string };

/**
 * The worker's whole program. It is started from this function's source text (the CLI ships as
 * one bundled file, so there is no separate worker file to point at): it must reach everything
 * through `process.getBuiltinModule` and refer to nothing outside its own body.
 */
export function hashWorkerMain(): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const { createHash } = process.getBuiltinModule('node:crypto');
  if (parentPort === null) throw new Error('hashWorkerMain runs only inside a worker thread');
  const port = parentPort;
  const hashes = new Map<number, { hash: Hash; memory: SharedArrayBuffer; slotBytes: number }>();
  port.on('message', (message: ToHashWorker) => {
    const { job } = message;
    try {
      if ('algorithm' in message) {
        hashes.set(job, { hash: createHash(message.algorithm), memory: message.memory, slotBytes: message.slotBytes });
      } else if ('slot' in message) {
        // Slots of a dropped job are not answered: the main thread forgot the job.
        const open = hashes.get(job);
        if (open === undefined) return;
        open.hash.update(new Uint8Array(open.memory, message.slot * open.slotBytes, message.length));
        port.postMessage({ job, slot: message.slot });
      } else if ('end' in message) {
        const hash = hashes.get(job)?.hash;
        hashes.delete(job);
        if (hash !== undefined) port.postMessage({ job, digestHex: hash.digest('hex') });
      } else {
        hashes.delete(job);
      }
    } catch (err) {
      hashes.delete(job);
      port.postMessage({ job, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
