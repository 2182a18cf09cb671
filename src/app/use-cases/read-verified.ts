import { type Readable } from 'node:stream';
import { type Digest } from '../../domain/digest.js';
import { VerifyingStream } from '../../domain/verifying-stream.js';

/** Reads a small blob (a config) completely, verified against its descriptor. */
export async function readVerified(stream: Readable, expected: { digest: Digest; size: number }, what: string): Promise<Uint8Array> {
  const verifying = stream.pipe(new VerifyingStream(expected, what));
  stream.once('error', (err) => verifying.destroy(err));
  const chunks: Buffer[] = [];
  for await (const chunk of verifying) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
