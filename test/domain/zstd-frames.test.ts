import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { zstdCompressSync, constants as zlib } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { ZstdFramesDecompress } from '../../src/domain/zstd-decompress.js';
import { ZstdFormatError, type ZstdFrameKind, ZstdFrameSplitter } from '../../src/domain/zstd-frames.js';

/** A zstd frame as libzstd writes it, with its content checksum. */
function zstdFrame(content: Uint8Array): Buffer {
  return zstdCompressSync(content, { params: { [zlib.ZSTD_c_checksumFlag]: 1, [zlib.ZSTD_c_compressionLevel]: 3 } });
}

function skippableFrame(content: Uint8Array, nibble = 0): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a50 + nibble, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/**
 * A frame made by hand (RFC 8878): `descriptor` is the frame header descriptor, `header` the
 * optional fields it announces, then the given blocks (the last one flagged) and a checksum if
 * asked. The splitter needs only the structure, so contents and checksum are arbitrary.
 */
function handFrame(
  descriptor: number,
  header: number[],
  blocks: readonly { type: 0 | 1 | 2 | 3; size: number; content: number[] }[],
  checksum = false,
): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...header])];
  blocks.forEach((block, i) => {
    const value = (block.size << 3) | (block.type << 1) | (i === blocks.length - 1 ? 1 : 0);
    parts.push(Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, ...block.content]));
  });
  if (checksum) parts.push(Buffer.from([1, 2, 3, 4]));
  return Buffer.concat(parts);
}

/** The stream cut into chunks of `size` bytes. */
function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** The frames the splitter finds, each as its kind and its bytes put back together. */
function framesOf(chunks: readonly Uint8Array[]): { kind: ZstdFrameKind; bytes: Buffer }[] {
  const splitter = new ZstdFrameSplitter();
  const frames: { kind: ZstdFrameKind; bytes: Buffer }[] = [];
  let current: Uint8Array[] = [];
  let kind: ZstdFrameKind | undefined;
  for (const chunk of chunks) {
    for (const piece of splitter.split(chunk)) {
      expect(piece.bytes.length, 'an empty piece').to.be.above(0);
      if (current.length > 0) expect(piece.kind, 'every piece of a frame has its kind').to.equal(kind);
      kind = piece.kind;
      current.push(piece.bytes);
      if (piece.endsFrame) {
        frames.push({ kind: piece.kind, bytes: Buffer.concat(current) });
        current = [];
      }
    }
  }
  splitter.end();
  expect(current, 'no piece left after the last frame').to.deep.equal([]);
  return frames;
}

function splitError(bytes: Uint8Array): string {
  try {
    framesOf([bytes]);
  } catch (err) {
    expect(err).to.be.instanceOf(ZstdFormatError);
    return (err as Error).message;
  }
  throw new Error('the splitter accepted it');
}

async function decompress(chunks: readonly Uint8Array[]): Promise<{ body: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  try {
    for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new ZstdFramesDecompress())) out.push(chunk as Buffer);
    return { body: Buffer.concat(out), error: undefined };
  } catch (error) {
    return { body: Buffer.concat(out), error };
  }
}

describe('zstd frames: ZstdFrameSplitter', () => {
  const frames = [
    { kind: 'zstd' as const, bytes: zstdFrame(randomBytes(3000)) },
    { kind: 'skippable' as const, bytes: skippableFrame(Buffer.from('table of contents'), 0xf) },
    { kind: 'zstd' as const, bytes: zstdFrame(Buffer.alloc(300_000, 7)) },
    { kind: 'skippable' as const, bytes: skippableFrame(new Uint8Array(0)) },
    // Raw, RLE and compressed blocks, a 2-byte dictionary ID, an 8-byte content size, a checksum.
    {
      kind: 'zstd' as const,
      bytes: handFrame(
        0xc2 | 0x04,
        [0x40, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8],
        [
          { type: 0, size: 3, content: [1, 2, 3] },
          { type: 1, size: 1000, content: [9] },
          { type: 2, size: 2, content: [5, 5] },
        ],
        true,
      ),
    },
    // Single segment: the content size is then 1 byte, and there is no window descriptor.
    { kind: 'zstd' as const, bytes: handFrame(0x20, [5], [{ type: 0, size: 0, content: [] }]) },
  ];
  const stream = Buffer.concat(frames.map((frame) => frame.bytes));

  for (const size of [1, 2, 3, 7, 4096, stream.length]) {
    it(`finds every frame of a stream fed in ${size}-byte chunks`, () => {
      expect(framesOf(chunked(stream, size))).to.deep.equal(frames);
    });
  }

  it('passes the bytes through as sub-arrays of the chunks, none copied', () => {
    const splitter = new ZstdFrameSplitter();
    const pieces = [...splitter.split(stream)];
    expect(pieces.every((piece) => piece.bytes.buffer === stream.buffer)).to.equal(true);
    expect(pieces.map((piece) => piece.endsFrame)).to.deep.equal(frames.map(() => true));
  });

  it('accepts an empty stream', () => {
    expect(framesOf([])).to.deep.equal([]);
  });

  const errors: [string, Uint8Array, string][] = [
    [
      'garbage after the frames',
      Buffer.concat([stream, Buffer.from('garbage!')]),
      `zstd frame 7 (from byte ${stream.length}) starts with 0x62726167, neither a zstd frame's magic number (0xFD2FB528) nor a skippable frame's (0x184D2A5?)`,
    ],
    [
      'a reserved block type',
      handFrame(
        0x00,
        [0x40],
        [
          { type: 0, size: 1, content: [0] },
          { type: 3, size: 1, content: [0] },
        ],
      ),
      'block 2 of zstd frame 1 (from byte 0) has the reserved block type',
    ],
    [
      'the reserved descriptor bit',
      handFrame(0x08, [0x40], [{ type: 0, size: 0, content: [] }]),
      'zstd frame 1 (from byte 0) sets the reserved bit of its frame header descriptor',
    ],
    [
      'a block above 128 KiB',
      handFrame(0x00, [0x40], [{ type: 0, size: 128 * 1024 + 1, content: [] }]),
      'block 1 of zstd frame 1 (from byte 0) claims 131073 bytes, more than the 128 KiB a block may hold',
    ],
    ['a stream cut in a block', stream.subarray(0, 100), 'the zstd stream ends at byte 100, inside the block content of zstd frame 1 (from byte 0)'],
    [
      'a stream cut in a magic number',
      Buffer.concat([frames[0]!.bytes, Buffer.from([0x28, 0xb5])]),
      `the zstd stream ends at byte ${frames[0]!.bytes.length + 2}, inside the magic of zstd frame 2 (from byte ${frames[0]!.bytes.length})`,
    ],
    [
      'a stream cut in a checksum',
      frames[0]!.bytes.subarray(0, frames[0]!.bytes.length - 1),
      `the zstd stream ends at byte ${frames[0]!.bytes.length - 1}, inside the checksum of zstd frame 1 (from byte 0)`,
    ],
    [
      'a stream cut in a skippable frame',
      frames[1]!.bytes.subarray(0, 10),
      'the zstd stream ends at byte 10, inside the skippable content of zstd frame 1 (from byte 0)',
    ],
  ];
  for (const [name, bytes, message] of errors) {
    it(`refuses ${name}, saying where and what`, () => {
      expect(splitError(bytes)).to.equal(message);
    });
  }

  it('property: any frames, cut anywhere, come out whole and in order', () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((content) => ({ kind: 'zstd' as const, bytes: zstdFrame(content) })),
      fc
        .tuple(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 15 }))
        .map(([content, nibble]) => ({ kind: 'skippable' as const, bytes: skippableFrame(content, nibble) })),
    );
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 8 }), fc.integer({ min: 1, max: 300 }), (generated, size) => {
        expect(framesOf(chunked(Buffer.concat(generated.map((f) => f.bytes)), size))).to.deep.equal(generated);
      }),
      { numRuns: 200, seed: 20261207 },
    );
  });

  it('property: a stream cut inside a frame is refused', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { minLength: 1, maxLength: 4 }), fc.nat(), (contents, cut) => {
        const whole = Buffer.concat(contents.map(zstdFrame));
        const ends = new Set(contents.map(zstdFrame).reduce<number[]>((acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length], [0]));
        const at = cut % whole.length;
        if (ends.has(at)) return;
        expect(() => framesOf([whole.subarray(0, at)])).to.throw(ZstdFormatError, 'the zstd stream ends at byte');
      }),
      { numRuns: 200, seed: 20261207 },
    );
  });
});

describe('zstd frames: ZstdFramesDecompress', () => {
  const parts = [randomBytes(7_000), Buffer.alloc(200_000, 1), Buffer.from('the last part')];
  const frames = parts.map(zstdFrame);

  it('decompresses every frame to the end, skipping skippable ones, whatever the chunking', async () => {
    const stream = Buffer.concat([frames[0]!, skippableFrame(Buffer.from('toc')), frames[1]!, frames[2]!, skippableFrame(randomBytes(100), 3)]);
    for (const size of [1, 5, 1000, stream.length]) {
      const { body, error } = await decompress(chunked(stream, size));
      expect(error).to.equal(undefined);
      expect(body.equals(Buffer.concat(parts)), `in ${size}-byte chunks`).to.equal(true);
    }
  });

  it('decompresses a frame of every header layout: each content-size field size (the 2-byte one counting from 256), with and without single segment, each dictionary-ID field size', async () => {
    const contents: Buffer[] = [];
    const layouts: Buffer[] = [];
    for (const contentSizeFlag of [0, 1, 2, 3]) {
      for (const singleSegment of [false, true]) {
        for (const dictionaryIdFlag of [0, 1, 2, 3]) {
          // Within the window: 1 KiB (descriptor 0x00), or the content size for a single segment.
          const size = contentSizeFlag === 1 ? 300 : contentSizeFlag === 0 && singleSegment ? 200 : 700;
          const content = Buffer.alloc(size, 0x61 + contents.length);
          const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
          const sizeField = Buffer.alloc(8);
          sizeField.writeBigUInt64LE(BigInt(sizeBytes === 2 ? size - 256 : size));
          const header = [...(singleSegment ? [] : [0x00]), ...new Array<number>([0, 1, 2, 4][dictionaryIdFlag]!).fill(0), ...sizeField.subarray(0, sizeBytes)];
          layouts.push(handFrame((contentSizeFlag << 6) | (singleSegment ? 0x20 : 0) | dictionaryIdFlag, header, [{ type: 0, size, content: [...content] }]));
          contents.push(content);
        }
      }
    }
    const stream = Buffer.concat(layouts);
    for (const size of [2, 7, 64, stream.length]) {
      const { body, error } = await decompress(chunked(stream, size));
      expect(error, `in ${size}-byte chunks`).to.equal(undefined);
      expect(body.equals(Buffer.concat(contents)), `in ${size}-byte chunks`).to.equal(true);
    }
  });

  it('gives nothing for skippable frames alone, as zstd -dc does', async () => {
    expect(await decompress([skippableFrame(Buffer.from('x'))])).to.deep.equal({ body: Buffer.alloc(0), error: undefined });
  });

  it('fails a stream cut inside a frame, short of the whole content', async () => {
    const stream = Buffer.concat(frames);
    const { body, error } = await decompress([stream.subarray(0, frames[0]!.length / 2)]);
    expect(error).to.be.instanceOf(ZstdFormatError);
    expect(body.length).to.be.lessThan(parts[0]!.length);
  });

  it("fails a corrupt frame with the decoder's error", async () => {
    const corrupt = Buffer.from(frames[2]!);
    corrupt[corrupt.length - 1] = corrupt.at(-1)! ^ 0xff; // its checksum
    const { error } = await decompress([frames[0]!, corrupt]);
    expect((error as Error).message).to.match(/checksum/i);
  });

  it('holds back while its reader does not read: memory stays flat', async () => {
    // 12,000 frames of 4 KiB of zeros: ~200 KiB in, more than the two stages buffer (~80 KiB); 47 MiB out.
    const frame = zstdFrame(Buffer.alloc(4 * 1024));
    const decompressor = new ZstdFramesDecompress({ chunkSize: 64 * 1024 });
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < 12_000; i++) {
        if (!decompressor.write(frame)) await new Promise((resolve) => decompressor.once('drain', resolve));
        written++;
      }
      decompressor.end();
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(decompressor.readableLength, 'buffered output').to.be.below(1024 * 1024);
    expect(written, 'frames taken while nobody reads').to.be.below(12_000);
    let total = 0;
    for await (const chunk of decompressor) total += (chunk as Buffer).length;
    await writer;
    expect(total).to.equal(12_000 * 4 * 1024);
  });
});
