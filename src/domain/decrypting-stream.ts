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
    const mismatch = hmacMismatch(this.cipher, this.hmac.digest(), this.what);
    if (mismatch !== undefined) return callback(mismatch);
    callback(null, this.held === undefined ? tail : Buffer.concat([this.held, tail]));
  }
}

/**
 * An empty layer has no byte to hold back: a body of Content-Length 0 is complete the moment its
 * headers go out. Its HMAC (of nothing) is therefore checked before answering.
 */
export function checkEmptyCiphertext(cipher: LayerCipher, what: string): void {
  const mismatch = hmacMismatch(cipher, createHmac('sha256', cipher.key).digest(), what);
  if (mismatch !== undefined) throw mismatch;
}

function hmacMismatch(cipher: LayerCipher, computed: Buffer, what: string): ProxyError | undefined {
  if (timingSafeEqual(computed, cipher.hmac)) return undefined;
  return new ProxyError('decryption-failed', `${what}: the ciphertext does not match its HMAC (altered, or encrypted with another key)`);
}
