import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { type ContentHash, inlineHash, VerifyingStream } from '../../src/domain/verifying-stream.js';

type Expected = ConstructorParameters<typeof VerifyingStream>[0];

/** A hash that answers later, as one computed on another thread does: every update makes the stream wait. */
function deferredHash(expected: Expected, spy: { disposed: boolean } = { disposed: false }): ContentHash {
  const inline = inlineHash(expected.digest);
  const later = <T>(work: () => T): Promise<T> => new Promise((resolve) => setImmediate(() => resolve(work())));
  return {
    update: (chunk) => later(() => void inline.update(chunk)),
    digestHex: () => later(() => inline.digestHex() as string),
    dispose: () => void (spy.disposed = true),
  };
}

const hashKinds = [
  { name: 'inline', hashFor: (expected: Expected) => inlineHash(expected.digest) },
  { name: 'deferred', hashFor: (expected: Expected) => deferredHash(expected) },
];

/** Feeds chunks through a VerifyingStream and reports what came out and how it ended. */
async function run(chunks: Buffer[], expected: Expected, hashFor: (expected: Expected) => ContentHash = hashKinds[0]!.hashFor) {
  const out: Buffer[] = [];
  const stream = Readable.from(chunks).pipe(new VerifyingStream(expected, undefined, hashFor(expected)));
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

  for (const kind of hashKinds) {
    describe(`with ${kind.name} hashing`, () => {

      it('passes correct content through unchanged', async () => {
        const { body, error } = await run(chunks, good, kind.hashFor);
        expect(error).to.equal(undefined);
        expect(body.equals(content)).to.equal(true);
      });

      it('withholds the last chunk until the end has been verified', async () => {
        const verifying = new VerifyingStream(good, undefined, kind.hashFor(good));
        const seen: number[] = [];
        verifying.on('data', (chunk: Buffer) => seen.push(chunk.length));
        verifying.write(chunks[0]);
        verifying.write(chunks[1]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(seen).to.deep.equal([70_000]);
        verifying.end(chunks[2]);
        await new Promise((resolve) => verifying.once('end', resolve));
        expect(seen).to.deep.equal([70_000, 70_000, 60_000]);
      });

      it('never releases a complete body when the digest is wrong', async () => {
        const corrupt = Buffer.from(content);
        corrupt.writeUInt8(corrupt.readUInt8(150_000) ^ 0xff, 150_000);
        const { body, error } = await run([corrupt.subarray(0, 100_000), corrupt.subarray(100_000)], good, kind.hashFor);
        expect(isProxyError(error, 'digest-mismatch')).to.equal(true);
        expect((error as Error).message).to.contain(good.digest);
        expect(body.length).to.be.lessThan(content.length);
      });

      it('stops at the first byte beyond the declared size', async () => {
        const { body, error } = await run([...chunks, Buffer.from('x')], good, kind.hashFor);
        expect(isProxyError(error, 'size-mismatch')).to.equal(true);
        expect(body.length).to.be.lessThan(content.length);
      });

      it('rejects a short body', async () => {
        const { body, error } = await run(chunks.slice(0, 2), good, kind.hashFor);
        expect(isProxyError(error, 'size-mismatch')).to.equal(true);
        expect((error as Error).message).to.contain('received 140000 bytes, expected 200000');
        expect(body.length).to.equal(70_000);
      });

      it('verifies sha512 digests with their own algorithm', async () => {
        const { body, error } = await run(chunks, { digest: digestOf(content, 'sha512'), size: content.length }, kind.hashFor);
        expect(error).to.equal(undefined);
        expect(body.length).to.equal(content.length);
      });
    });
  }

  it('fails with the error of the hash and keeps the tail when the hash cannot answer', async () => {
    const failing: ContentHash = { update: () => undefined, digestHex: () => Promise.reject(new Error('worker gone')), dispose: () => undefined };
    const { body, error } = await run(chunks, good, () => failing);
    expect(isProxyError(error, 'internal')).to.equal(true);
    expect((error as Error).message).to.contain('worker gone');
    expect(body.length).to.equal(140_000);
  });

  it('disposes of its hash when destroyed midway', async () => {
    const spy = { disposed: false };
    const verifying = new VerifyingStream(good, undefined, deferredHash(good, spy));
    verifying.write(chunks[0]);
    verifying.destroy();
    await new Promise((resolve) => verifying.once('close', resolve));
    expect(spy.disposed).to.equal(true);
  });
});
