import { Transform, type TransformCallback } from 'node:stream';
import { type Digest, hasherFor } from './digest.js';
import { ProxyError } from './errors.js';

/**
 * An incremental digest, computed here or elsewhere (another thread). The chunk given to
 * `update` is only read, never kept past the returned promise.
 */
export interface ContentHash {
  /** A promise asks the caller to wait before the next chunk (the hasher is behind). */
  update(chunk: Buffer): Promise<void> | undefined;
  /** Hex digest of everything passed to `update`; asked at most once. */
  digestHex(): Promise<string> | string;
  /** No digest will be asked for any more (the stream was destroyed); frees what the hash holds. */
  dispose(): void;
}

/** The digest computed on the calling thread: right for configs and small blobs. */
export function inlineHash(digest: Digest): ContentHash {
  const hash = hasherFor(digest);
  return {
    update: (chunk) => void hash.update(chunk),
    digestHex: () => hash.digest('hex'),
    dispose: () => undefined,
  };
}

/**
 * Passes a blob through while checking its size and digest, and holds back the most recent
 * chunk until the end: the final bytes are released only once the whole content has been
 * verified. A reader therefore never sees a complete body of corrupt content — on a mismatch
 * the stream errors with at least one byte still missing.
 *
 * This is the one place where blob content is verified, whichever thread computes the hash.
 */
export class VerifyingStream extends Transform {
  private received = 0;
  private held: Buffer | undefined;

  constructor(
    /** Without a size, only the digest is checked (a decompressed layer against its diff ID). */
    private readonly expected: { readonly digest: Digest; readonly size?: number | undefined },
    private readonly what = `blob ${expected.digest}`,
    private readonly hash: ContentHash = inlineHash(expected.digest),
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.received += chunk.length;
    if (this.expected.size !== undefined && this.received > this.expected.size) {
      return callback(new ProxyError('size-mismatch', `${this.what}: received more than the expected ${this.expected.size} bytes`));
    }
    const behind = this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    if (behind === undefined) return callback(null, previous);
    if (previous !== undefined) this.push(previous);
    behind.then(() => callback(), (err: unknown) => callback(this.hashFailure(err)));
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected.size !== undefined && this.received !== this.expected.size) {
      return callback(new ProxyError('size-mismatch', `${this.what}: received ${this.received} bytes, expected ${this.expected.size}`));
    }
    const check = (hex: string): void => {
      const actual = `${this.expected.digest.slice(0, this.expected.digest.indexOf(':'))}:${hex}`;
      if (actual !== this.expected.digest) return callback(new ProxyError('digest-mismatch', `${this.what}: content hashes to ${actual}`));
      callback(null, this.held);
    };
    const hex = this.hash.digestHex();
    if (typeof hex === 'string') return check(hex);
    hex.then(check, (err: unknown) => callback(this.hashFailure(err)));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.hash.dispose();
    callback(err);
  }

  private hashFailure(err: unknown): ProxyError {
    return err instanceof ProxyError ? err : new ProxyError('internal', `${this.what}: cannot compute its digest: ${String(err)}`, { cause: err });
  }
}
