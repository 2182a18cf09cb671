import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ProxyError } from './errors.js';
import { type LayerCipher } from './layer-encryption.js';

/**
 * Decrypts an ocicrypt layer (AES-256-CTR) while taking the HMAC-SHA256 of its ciphertext, which
 * can only be checked at the end. Like the VerifyingStream it holds back the most recent chunk
 * until then, so a reader never gets a complete body of plaintext whose ciphertext failed its
 * HMAC (a wrong key or altered bytes): the stream errors with at least one byte still missing.
 */
export class DecryptingStream extends Transform {
  private readonly decipher;
  private readonly hmac;
  private held: Buffer | undefined;

  constructor(
    private readonly cipher: LayerCipher,
    private readonly what: string,
  ) {
    super();
    this.decipher = createDecipheriv('aes-256-ctr', cipher.key, cipher.nonce);
    this.hmac = createHmac('sha256', cipher.key);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.hmac.update(chunk);
    const previous = this.held;
    this.held = this.decipher.update(chunk);
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const tail = this.decipher.final();
    if (!timingSafeEqual(this.hmac.digest(), this.cipher.hmac)) {
      return callback(new ProxyError('decryption-failed', `${this.what}: the ciphertext does not match its HMAC (altered, or encrypted with another key)`));
    }
    callback(null, this.held === undefined ? tail : Buffer.concat([this.held, tail]));
  }
}
