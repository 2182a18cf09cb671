/** What the TypeScript client tests check on every answer: whole streams and typed rejections. */
import { createHash } from 'node:crypto';
import { type Readable } from 'node:stream';
import { expect } from 'chai';
import { ImageProxyError } from '../../src/client/index.js';

export async function sha256Of(stream: Readable): Promise<{ digest: string; bytes: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

export async function rejection(promise: Promise<unknown>): Promise<ImageProxyError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ImageProxyError);
    return err as ImageProxyError;
  }
  throw new Error('expected an ImageProxyError, got an answer');
}
