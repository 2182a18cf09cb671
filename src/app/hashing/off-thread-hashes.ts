import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Digest, digestAlgorithm } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type ContentHash, inlineHash } from '../../domain/verifying-stream.js';
import { type FromHashWorker, hashWorkerMain, type ToHashWorker } from './hash-worker.js';

export type ContentHashFactory = (expected: { readonly digest: Digest; readonly size?: number | undefined }) => ContentHash;

export interface OffThreadHashOptions {
  /** Bytes handed to the worker at a time. */
  readonly batchBytes?: number;
  /** Batches one hash may have at the worker before `update` asks its caller to wait. */
  readonly batchesPerHash?: number;
  /** Blobs announced smaller than this are hashed inline: the hand-off would cost more than it saves. */
  readonly inlineBelow?: number;
}

const DEFAULTS = { batchBytes: 1024 * 1024, batchesPerHash: 4, inlineBelow: 1024 * 1024 } as const;

/** Below this many cores, blobs are hashed inline. */
const CORES_FOR_WORKER = 4;

/**
 * Hashes off the main thread only with cores to spare. Measured on 2 cores (bench/README.md):
 * the worker takes ~29 % of the main thread's CPU time per blob but adds ~25 % to the process's
 * total (copies, wake-ups, the hash reading bytes another core wrote), and the registry and the
 * client already keep both cores busy, so blobs came out slower, not faster.
 */
export function defaultContentHashes(cores = availableParallelism()): ContentHashFactory {
  return cores >= CORES_FOR_WORKER ? new OffThreadHashes().hashFor : (expected) => inlineHash(expected.digest);
}

/**
 * Computes large blobs' digests on one worker thread, so hashing (~0.5 ms per MiB) overlaps
 * with reading from the registry and writing to the client instead of taking turns with them on
 * the main thread. Each hash copies its chunks into a few batch slots of memory it shares with
 * the worker and sends only slot numbers (transferring or cloning buffers instead costs the main
 * thread frequent garbage collections); when every slot is at the worker, `update` returns a
 * promise and the stream waits. The worker starts on the first large blob, keeps the process
 * alive only while a hash is open, and is restarted if it ever dies (open hashes then fail).
 */
export class OffThreadHashes {
  private readonly options: Required<OffThreadHashOptions>;
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, WorkerHash>();
  private nextJob = 1;

  constructor(options: OffThreadHashOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  readonly hashFor: ContentHashFactory = (expected) => {
    if (expected.size !== undefined && expected.size < this.options.inlineBelow) return inlineHash(expected.digest);
    const job = this.nextJob++;
    const { batchBytes, batchesPerHash } = this.options;
    const memory = new SharedArrayBuffer(batchBytes * batchesPerHash);
    const hash = new WorkerHash(job, memory, batchBytes, batchesPerHash, (message) => this.send(message), () => this.forget(job));
    this.jobs.set(job, hash);
    this.send({ job, algorithm: digestAlgorithm(expected.digest), memory, slotBytes: batchBytes });
    this.worker?.ref();
    return hash;
  };

  /** Stops the worker; open hashes fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lost(worker, new Error('closed'));
    await worker.terminate();
  }

  private send(message: ToHashWorker): void {
    this.started().postMessage(message);
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(`(${hashWorkerMain.toString()})()`, { eval: true, name: 'content-hash' });
    worker.on('message', (message: FromHashWorker) => this.jobs.get(message.job)?.receive(message));
    worker.once('error', (err) => this.lost(worker, err));
    worker.once('exit', (code) => this.lost(worker, new Error(`exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private forget(job: number): void {
    this.jobs.delete(job);
    if (this.jobs.size === 0) this.worker?.unref();
  }

  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const failure = new ProxyError('internal', `the hashing worker stopped: ${err.message}`, { cause: err });
    for (const hash of [...this.jobs.values()]) hash.fail(failure);
  }
}

/** One blob's hash at the worker; `done` tells the pool it no longer needs the worker's answers. */
class WorkerHash implements ContentHash {
  private readonly free: number[];
  private slot: number | undefined;
  private filled = 0;
  private readonly bytes: Uint8Array;
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private result: { resolve: (hex: string) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly job: number,
    memory: SharedArrayBuffer,
    private readonly slotBytes: number,
    slots: number,
    private readonly send: (message: ToHashWorker) => void,
    private readonly done: () => void,
  ) {
    this.bytes = new Uint8Array(memory);
    this.free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  update(chunk: Buffer): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.copy(chunk, 0);
  }

  digestHex(): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.filled > 0) this.flush();
    this.send({ job: this.job, end: true });
    return new Promise((resolve, reject) => (this.result = { resolve, reject }));
  }

  dispose(): void {
    if (this.closed) return;
    this.close();
    this.send({ job: this.job, drop: true });
  }

  receive(message: FromHashWorker): void {
    if ('slot' in message) {
      this.free.push(message.slot);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve();
    } else if ('digestHex' in message) {
      this.close();
      this.result?.resolve(message.digestHex);
    } else {
      this.fail(new ProxyError('internal', `cannot hash: ${message.error}`));
    }
  }

  fail(err: Error): void {
    this.failure = err;
    this.close();
    this.waiting?.reject(err);
    this.result?.reject(err);
  }

  private close(): void {
    this.closed = true;
    this.done();
  }

  /** Copies from `offset` on; a promise when every batch is at the worker and the rest must wait. */
  private copy(chunk: Buffer, offset: number): Promise<void> | undefined {
    let from = offset;
    while (from < chunk.length) {
      const slot = (this.slot ??= this.free.pop());
      if (slot === undefined) {
        return new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject })).then(() => (this.closed ? undefined : this.copy(chunk, from)));
      }
      const start = slot * this.slotBytes;
      const copied = chunk.copy(this.bytes, start + this.filled, from, from + this.slotBytes - this.filled);
      this.filled += copied;
      from += copied;
      if (this.filled === this.slotBytes) this.flush();
    }
    return undefined;
  }

  private flush(): void {
    this.send({ job: this.job, slot: this.slot!, length: this.filled });
    this.slot = undefined;
    this.filled = 0;
  }
}
