import { Duplex } from 'node:stream';
import { type ZstdDecompress } from 'node:zlib';
import { ZstdFormatError, ZstdFrameSplitter } from './zstd-frames.js';

/**
 * Decompresses every frame of a zstd stream, to its end, skipping skippable frames, as `zstd -dc`
 * does. Node's zstd decoder stops at the end of the first frame and drops what follows; libzstd
 * itself goes on to the next frame when a write ends where a frame ends. So the stream is split
 * at frame boundaries (ZstdFrameSplitter) and one decoder is written one frame piece at a time:
 * one decoder for the whole stream, not one per frame, because zstd:chunked layers hold a frame
 * per file and a fresh decoder costs ~0.3 ms with a 1 MiB output buffer.
 *
 * A stream that is not zstd frames, or ends inside one, fails with a ZstdFormatError; a decoder
 * that consumed less than it was given (Node's decoder stopping early after all) fails too,
 * so a cut stream never ends as a complete body. Backpressure goes through: the decoder is
 * paused while this stream's reader is full, and writes wait for the decoder to drain.
 */
export class ZstdFramesDecompress extends Duplex {
  private readonly splitter = new ZstdFrameSplitter();
  private readonly decoder: ZstdDecompress;
  /** Bytes of zstd frames handed to the decoder; it must have consumed all of them at its end. */
  private written = 0;
  private ended = false;

  constructor(options: { readonly chunkSize?: number } = {}) {
    super();
    // node:zlib on first use, not at start (~6 ms, for a read most sessions never make).
    this.decoder = process.getBuiltinModule('node:zlib').createZstdDecompress(options);
    this.decoder
      .on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) this.decoder.pause();
      })
      .on('end', () => this.decoderEnded())
      .on('error', (err) => this.destroy(err));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let flowing = true;
    try {
      for (const piece of this.splitter.split(chunk)) {
        if (piece.kind === 'skippable') continue;
        this.written += piece.bytes.length;
        flowing = this.decoder.write(piece.bytes);
      }
    } catch (err) {
      return callback(err as Error);
    }
    if (flowing) callback();
    else this.decoder.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.splitter.end();
    } catch (err) {
      return callback(err as Error);
    }
    this.ended = true;
    // Skippable frames only: no output, as `zstd -dc` gives (the decoder refuses empty input).
    if (this.written === 0) {
      this.decoder.destroy();
      this.push(null);
    } else {
      this.decoder.end();
    }
    callback();
  }

  override _read(): void {
    this.decoder.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.decoder.destroy();
    callback(err);
  }

  private decoderEnded(): void {
    if (!this.ended || this.decoder.bytesWritten !== this.written) {
      this.destroy(new ZstdFormatError(`the zstd decoder stopped after ${this.decoder.bytesWritten} of the ${this.written} bytes of zstd frames it was given`));
      return;
    }
    this.push(null);
  }
}
