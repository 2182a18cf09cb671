import { type Readable } from 'node:stream';
import { type Digest } from '../../../domain/digest.js';
import { VerifyingStream } from '../../../domain/verifying-stream.js';
import { chain } from './stream-chain.js';

/** Reads a small blob (a config) completely, verified against its descriptor. */
export async function readVerified(stream: Readable, expected: { digest: Digest; size: number }, what: string): Promise<Uint8Array> {
  const verifying = chain([stream, new VerifyingStream(expected, what)]);
  const chunks: Buffer[] = [];
  for await (const chunk of verifying) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
