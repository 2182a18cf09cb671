import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { VerifyingStream } from '../../src/domain/verifying-stream.js';

/** Feeds chunks through a VerifyingStream and reports what came out and how it ended. */
async function run(chunks: Buffer[], expected: ConstructorParameters<typeof VerifyingStream>[0]) {
  const out: Buffer[] = [];
  const stream = Readable.from(chunks).pipe(new VerifyingStream(expected));
  try {
    for await (const chunk of stream) out.push(chunk as Buffer);
    return { body: Buffer.concat(out), error: undefined };
  } catch (error) {
    return { body: Buffer.concat(out), error };
  }
}

describe('VerifyingStream', () => {
  const content = randomBytes(200_000);
  const chunks = [content.subarray(0, 70_000), content.subarray(70_000, 140_000), content.subarray(140_000)];
  const good = { digest: digestOf(content), size: content.length };

  it('passes correct content through unchanged', async () => {
    const { body, error } = await run(chunks, good);
    expect(error).to.equal(undefined);
    expect(body.equals(content)).to.equal(true);
  });

  it('withholds the last chunk until the end has been verified', async () => {
    const verifying = new VerifyingStream(good);
    const seen: number[] = [];
    verifying.on('data', (chunk: Buffer) => seen.push(chunk.length));
    verifying.write(chunks[0]);
    verifying.write(chunks[1]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).to.deep.equal([70_000]);
    verifying.end(chunks[2]);
    await new Promise((resolve) => verifying.once('end', resolve));
    expect(seen).to.deep.equal([70_000, 70_000, 60_000]);
  });

  it('never releases a complete body when the digest is wrong', async () => {
    const corrupt = Buffer.from(content);
    corrupt.writeUInt8(corrupt.readUInt8(150_000) ^ 0xff, 150_000);
    const { body, error } = await run([corrupt.subarray(0, 100_000), corrupt.subarray(100_000)], good);
    expect(isProxyError(error, 'digest-mismatch')).to.equal(true);
    expect((error as Error).message).to.contain(good.digest);
    expect(body.length).to.be.lessThan(content.length);
  });

  it('stops at the first byte beyond the declared size', async () => {
    const { body, error } = await run([...chunks, Buffer.from('x')], good);
    expect(isProxyError(error, 'size-mismatch')).to.equal(true);
    expect(body.length).to.be.lessThan(content.length);
  });

  it('rejects a short body', async () => {
    const { body, error } = await run(chunks.slice(0, 2), good);
    expect(isProxyError(error, 'size-mismatch')).to.equal(true);
    expect((error as Error).message).to.contain('received 140000 bytes, expected 200000');
    expect(body.length).to.equal(70_000);
  });

  it('verifies sha512 digests with their own algorithm', async () => {
    const { body, error } = await run(chunks, { digest: digestOf(content, 'sha512'), size: content.length });
    expect(error).to.equal(undefined);
    expect(body.length).to.equal(content.length);
  });
});
