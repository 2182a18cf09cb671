/**
 * Where the frames of a zstd stream begin and end (RFC 8878 §3.1), found from the frame format
 * alone, without decompressing. A zstd stream may hold any number of frames back to back, and
 * skippable frames between them: zstd:chunked layers are one frame per file chunk plus skippable
 * frames holding their table of contents, parallel compressors write one frame per slice. A
 * decoder that stops at the end of the first frame (as Node's does) is fed one frame at a time.
 *
 * The splitter reads headers only: the block contents, the frame checksum and the frame's
 * window, dictionary and content size are the decoder's to check.
 */

/** The magic number of a zstd frame, read little-endian. */
export const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames have magic numbers 0x184D2A50 to 0x184D2A5F: the low four bits are free. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size: no block holds more than 128 KiB, whatever the window. */
const BLOCK_SIZE_MAX = 128 * 1024;

export type ZstdFrameKind = 'zstd' | 'skippable';

/** A run of bytes within one frame: a whole frame, its start, its middle or its end. */
export interface ZstdFramePiece {
  readonly kind: ZstdFrameKind;
  readonly bytes: Uint8Array;
  /** Whether the piece's last byte is its frame's last byte. */
  readonly endsFrame: boolean;
}

/** A stream that is not a sequence of zstd frames, with where and why. */
export class ZstdFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZstdFormatError';
  }
}

/**
 * What the splitter reads next: a header field it parses (`collect`) or bytes it only counts
 * (`skip`). Each field knows the step after it.
 */
type Field =
  | { readonly name: 'magic' | 'skippable size' | 'frame header descriptor' | 'block header'; readonly collect: number }
  | { readonly name: 'frame header' | 'block content' | 'checksum' | 'skippable content'; readonly skip: number };

const MAGIC_BYTES = 4;
const MAGIC: Field = { name: 'magic', collect: MAGIC_BYTES };

/**
 * Splits a zstd stream, chunk by chunk, into pieces that never cross a frame boundary. Feed every
 * chunk in order to `split`, then call `end`; both throw a ZstdFormatError on anything that is
 * not zstd frames, and `end` on a stream that stops inside a frame.
 */
export class ZstdFrameSplitter {
  private field: Field = MAGIC;
  /** Bytes of the field being read: collected header bytes, or skipped ones. */
  private done = 0;
  private readonly header = new Uint8Array(4);
  private kind: ZstdFrameKind = 'zstd';
  private frames = 0;
  private blocks = 0;
  private hasChecksum = false;
  private lastBlock = false;
  /** Offset in the whole stream of the next byte, for messages. */
  private offset = 0;
  private frameStart = 0;

  *split(chunk: Uint8Array): Generator<ZstdFramePiece> {
    let position = 0;
    let pieceStart = 0;
    while (position < chunk.length) {
      const field = this.field;
      if ('skip' in field) {
        const taken = Math.min(field.skip - this.done, chunk.length - position);
        position += taken;
        this.done += taken;
        this.offset += taken;
        if (this.done < field.skip) break;
      } else {
        if (this.field === MAGIC && this.done === 0) {
          this.frames++;
          this.frameStart = this.offset;
        }
        this.header[this.done++] = chunk[position++]!;
        this.offset++;
        if (this.done < field.collect) continue;
      }
      // A frame's kind is known only once its magic number is whole: the magic's first bytes,
      // when an earlier chunk ended in them, were held back and go out now as a copy.
      const carried = field === MAGIC ? MAGIC_BYTES - (position - pieceStart) : 0;
      if (this.advance()) {
        yield { kind: this.kind, bytes: chunk.subarray(pieceStart, position), endsFrame: true };
        pieceStart = position;
      } else if (carried > 0) {
        yield { kind: this.kind, bytes: this.header.slice(0, carried), endsFrame: false };
      }
    }
    if (position > pieceStart && this.field !== MAGIC) yield { kind: this.kind, bytes: chunk.subarray(pieceStart, position), endsFrame: false };
  }

  /** The stream is complete: it must end between frames. */
  end(): void {
    if (this.field === MAGIC && this.done === 0) return;
    throw new ZstdFormatError(`the zstd stream ends at byte ${this.offset}, inside the ${this.field.name} of ${this.frameName()}`);
  }

  /**
   * The current field is complete: moves to the next one, past any that are empty. True when the
   * frame just ended.
   */
  private advance(): boolean {
    for (;;) {
      const next = this.after(this.field);
      this.done = 0;
      if (next === 'frame end') {
        this.field = MAGIC;
        return true;
      }
      this.field = next;
      if (!('skip' in next) || next.skip > 0) return false;
    }
  }

  private after(field: Field): Field | 'frame end' {
    switch (field.name) {
      case 'magic':
        return this.startFrame(this.uint32());
      case 'skippable size':
        return { name: 'skippable content', skip: this.uint32() };
      case 'skippable content':
        return 'frame end';
      case 'frame header descriptor':
        return this.frameHeader(this.header[0]!);
      case 'frame header':
        return { name: 'block header', collect: 3 };
      case 'block header':
        return this.block();
      case 'block content':
        if (!this.lastBlock) return { name: 'block header', collect: 3 };
        return this.hasChecksum ? { name: 'checksum', skip: 4 } : 'frame end';
      case 'checksum':
        return 'frame end';
    }
  }

  private startFrame(magic: number): Field {
    this.blocks = 0;
    if (magic === ZSTD_FRAME_MAGIC) {
      this.kind = 'zstd';
      return { name: 'frame header descriptor', collect: 1 };
    }
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      this.kind = 'skippable';
      return { name: 'skippable size', collect: 4 };
    }
    const hex = `0x${magic.toString(16).toUpperCase().padStart(8, '0')}`;
    throw new ZstdFormatError(`${this.frameName()} starts with ${hex}, neither a zstd frame's magic number (0xFD2FB528) nor a skippable frame's (0x184D2A5?)`);
  }

  /** RFC 8878 §3.1.1.1.1: the descriptor says which optional header fields follow it. */
  private frameHeader(descriptor: number): Field {
    if ((descriptor & 0x08) !== 0) throw new ZstdFormatError(`${this.frameName()} sets the reserved bit of its frame header descriptor`);
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    this.hasChecksum = (descriptor & 0x04) !== 0;
    const windowDescriptor = singleSegment ? 0 : 1;
    const dictionaryId = [0, 1, 2, 4][descriptor & 0x03]!;
    const contentSize = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
    return { name: 'frame header', skip: windowDescriptor + dictionaryId + contentSize };
  }

  /** RFC 8878 §3.1.1.2: last-block flag, block type, block size, in 3 little-endian bytes. */
  private block(): Field {
    const header = this.header[0]! | (this.header[1]! << 8) | (this.header[2]! << 16);
    this.blocks++;
    this.lastBlock = (header & 1) === 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new ZstdFormatError(`block ${this.blocks} of ${this.frameName()} has the reserved block type`);
    if (size > BLOCK_SIZE_MAX)
      throw new ZstdFormatError(`block ${this.blocks} of ${this.frameName()} claims ${size} bytes, more than the 128 KiB a block may hold`);
    // An RLE block's content is the one byte it repeats `size` times.
    return { name: 'block content', skip: type === 1 ? 1 : size };
  }

  private uint32(): number {
    return (this.header[0]! | (this.header[1]! << 8) | (this.header[2]! << 16) | (this.header[3]! << 24)) >>> 0;
  }

  private frameName(): string {
    return `zstd frame ${this.frames} (from byte ${this.frameStart})`;
  }
}
