/**
 * Properties over zstd streams as layers and archives carry them: several frames, skippable frames
 * between them, mutated. The frame splitter passes every byte on, in order, or names what is wrong;
 * a layer read decompressed is its whole tar, verified, or fails with a ProxyError.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { zstdCompressSync, constants as zlib } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { decompressedLayer } from '../../src/app/core/use-cases/decompressed-layer.js';
import { digestOf } from '../../src/domain/digest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { ZstdFormatError, ZstdFrameSplitter } from '../../src/domain/zstd-frames.js';
import { fuzzAsync, fuzzParameters, fuzzTimeout } from './fuzz-support.js';
import { mutatedBytes } from './generators.js';

const frame = (content: Uint8Array, checksum: 0 | 1) => zstdCompressSync(content, { params: { [zlib.ZSTD_c_checksumFlag]: checksum } });

function skippable(content: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a5e, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/** Random bytes (raw blocks), a run of one byte (RLE), text (compressed blocks), over 128 KiB in all. */
const PARTS = [randomBytes(3000), Buffer.alloc(140_000, 0x61), Buffer.from('frame '.repeat(2000))];
const CONTENT = Buffer.concat(PARTS);
const STREAMS = [
  Buffer.concat([frame(PARTS[0]!, 1), skippable(Buffer.from('toc')), frame(PARTS[1]!, 0), frame(PARTS[2]!, 1), skippable(Buffer.alloc(0))]),
  Buffer.concat([frame(PARTS[0]!, 0), frame(PARTS[1]!, 1), skippable(randomBytes(40)), frame(PARTS[2]!, 0)]),
];

describe('fuzz: zstd frames', function () {
  this.timeout(fuzzTimeout());

  it('the splitter passes every byte on in order, in pieces of one frame each, or throws a ZstdFormatError', () => {
    fc.assert(
      fc.property(mutatedBytes(STREAMS), fc.integer({ min: 1, max: 4096 }), (bytes, chunkSize) => {
        const splitter = new ZstdFrameSplitter();
        const out: Uint8Array[] = [];
        try {
          for (let i = 0; i < bytes.length; i += chunkSize) for (const piece of splitter.split(bytes.subarray(i, i + chunkSize))) out.push(piece.bytes);
          splitter.end();
        } catch (err) {
          if (!(err instanceof ZstdFormatError)) throw err;
          return;
        }
        expect(Buffer.concat(out).equals(Buffer.from(bytes))).to.equal(true);
      }),
      fuzzParameters(),
    );
  });

  it('a layer read decompressed is its whole content, verified, or fails with a ProxyError', async () => {
    const layer = { digest: digestOf(CONTENT), size: 0, mediaType: MediaType.ociLayerZstd, compression: 'zstd' as const, diffID: digestOf(CONTENT) };
    await fuzzAsync(
      mutatedBytes(STREAMS),
      async (bytes) => {
        const answer = await decompressedLayer(Readable.from([Buffer.from(bytes)]), layer);
        const chunks: Buffer[] = [];
        for await (const chunk of answer.stream) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(CONTENT), 'a complete body is the content').to.equal(true);
      },
      0.3,
    );
  });
});
