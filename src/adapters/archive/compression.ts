import { type Duplex, type Readable } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { type DetectedCompression } from '../../domain/layers.js';
import { ZstdFramesDecompress } from '../../domain/zstd-decompress.js';

/**
 * A decompressor for what Node's zlib reads; undefined for uncompressed data. containers/image
 * also reads bzip2 and xz, which would need a dependency for a format no current tool writes.
 * node:zlib is loaded on first use: it costs ~6 ms at start, and most sessions never need it.
 */
export function decompressorFor(compression: DetectedCompression, what: string): Duplex | undefined {
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      return process.getBuiltinModule('node:zlib').createGunzip();
    case 'zstd':
      return new ZstdFramesDecompress();
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
