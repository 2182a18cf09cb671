import { Transform, type TransformCallback } from 'node:stream';
import { type Digest, hasherFor } from './digest.js';
import { ProxyError } from './errors.js';

/**
 * Passes a blob through while checking its size and digest, and holds back the most recent
 * chunk until the end: the final bytes are released only once the whole content has been
 * verified. A reader therefore never sees a complete body of corrupt content — on a mismatch
 * the stream errors with at least one byte still missing.
 *
 * This is the one place where blob content is verified.
 */
export class VerifyingStream extends Transform {
  private readonly hash;
  private received = 0;
  private held: Buffer | undefined;

  constructor(
    /** Without a size, only the digest is checked (a decompressed layer against its diff ID). */
    private readonly expected: { readonly digest: Digest; readonly size?: number | undefined },
    private readonly what = `blob ${expected.digest}`,
  ) {
    super();
    this.hash = hasherFor(expected.digest);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.received += chunk.length;
    if (this.expected.size !== undefined && this.received > this.expected.size) {
      return callback(new ProxyError('size-mismatch', `${this.what}: received more than the expected ${this.expected.size} bytes`));
    }
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected.size !== undefined && this.received !== this.expected.size) {
      return callback(new ProxyError('size-mismatch', `${this.what}: received ${this.received} bytes, expected ${this.expected.size}`));
    }
    const actual = `${this.expected.digest.slice(0, this.expected.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      return callback(new ProxyError('digest-mismatch', `${this.what}: content hashes to ${actual}`));
    }
    callback(null, this.held);
  }
}
