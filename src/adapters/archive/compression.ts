import { type Readable, type Transform } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { ProxyError } from '../../domain/errors.js';

/** What containers/image's compression detection recognises, from the first bytes of a stream. */
export type DetectedCompression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

const MAGIC: readonly (readonly [DetectedCompression, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/** How many leading bytes detection needs. */
export const MAGIC_LENGTH = 6;

export function detectCompression(head: Uint8Array): DetectedCompression {
  for (const [name, magic] of MAGIC) {
    if (magic.every((byte, i) => head[i] === byte)) return name;
  }
  return 'none';
}

/**
 * A decompressor for what Node's zlib reads; undefined for uncompressed data. containers/image
 * also reads bzip2 and xz, which would need a dependency for a format no current tool writes.
 */
export function decompressorFor(compression: DetectedCompression, what: string): Transform | undefined {
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      return createGunzip();
    case 'zstd':
      return createZstdDecompress();
    case 'bzip2':
    case 'xz':
      throw new ProxyError('manifest-invalid', `${what} is ${compression}-compressed, which this proxy cannot read (gzip and zstd are supported)`);
  }
}

/** Counts the bytes a stream delivers, consuming it. */
export async function countBytes(stream: Readable): Promise<number> {
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) total += chunk.length;
  return total;
}
