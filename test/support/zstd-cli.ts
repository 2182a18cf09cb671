/**
 * Multi-frame zstd made by the `zstd` command-line tool, as parallel compressors and zstd:chunked
 * writers leave it: the content cut into parts, each part compressed on its own, the frames
 * concatenated, optionally with skippable frames (which decoders pass over) between and after.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './registry/processes.js';

/** A skippable frame (magic 0x184D2A5n, little-endian size) holding `content`. */
export function skippableFrame(content: Uint8Array, nibble = 0): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a50 + nibble, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/** `content` cut at `cuts` (increasing offsets), each part a frame of its own written by `zstd`. */
export async function zstdFrames(content: Uint8Array, cuts: readonly number[], options: { skippable?: boolean } = {}): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'zstd-frames-'));
  try {
    const bounds = [0, ...cuts, content.length];
    const frames: Buffer[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const part = join(dir, `part-${i}`);
      await writeFile(part, content.subarray(bounds[i], bounds[i + 1]));
      await run('zstd', ['-q', '--check', part, '-o', `${part}.zst`]);
      frames.push(await readFile(`${part}.zst`));
      if (options.skippable) frames.push(skippableFrame(Buffer.from(`skippable after part ${i}`), i % 16));
    }
    return Buffer.concat(frames);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
