import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { digestOf, type Digest } from '../../../src/domain/digest.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { type ContentHash, VerifyingStream } from '../../../src/domain/verifying-stream.js';
import { defaultContentHashes, OffThreadHashes } from '../../../src/app/hashing/off-thread-hashes.js';

/** Feeds every chunk as a stream would: waiting whenever `update` asks to. */
async function feed(hash: ContentHash, chunks: readonly Buffer[]): Promise<string> {
  for (const chunk of chunks) await hash.update(chunk);
  return hash.digestHex();
}

const hexOf = (digest: Digest): string => digest.slice(digest.indexOf(':') + 1);

function split(content: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < content.length; offset += size) chunks.push(content.subarray(offset, offset + size));
  return chunks;
}

describe('OffThreadHashes', function () {
  // The first hash starts the worker thread, which is slow on a busy machine.
  this.timeout(20_000);
  // Tiny batches, so that every case crosses batch boundaries and runs out of batches.
  const hashes = new OffThreadHashes({ batchBytes: 1000, batchesPerHash: 2, inlineBelow: 0 });
  after(() => hashes.close());

  const content = randomBytes(50_000);
  const cases = [
    { name: 'chunks smaller than a batch', chunks: split(content, 300), algorithm: 'sha256' as const },
    { name: 'chunks exactly one batch long', chunks: split(content, 1000), algorithm: 'sha256' as const },
    { name: 'chunks spanning many batches', chunks: split(content, 7777), algorithm: 'sha256' as const },
    { name: 'one chunk', chunks: [content], algorithm: 'sha512' as const },
    { name: 'no bytes at all', chunks: [], algorithm: 'sha256' as const },
  ];
  for (const { name, chunks, algorithm } of cases) {
    it(`hashes ${name} as node:crypto does (${algorithm})`, async () => {
      const whole = Buffer.concat(chunks);
      const digest = digestOf(whole, algorithm);
      expect(await feed(hashes.hashFor({ digest, size: whole.length }), chunks)).to.equal(hexOf(digest));
    });
  }

  it('asks the caller to wait once every batch is at the worker', () => {
    const digest = digestOf(content);
    const hash = hashes.hashFor({ digest, size: content.length });
    expect(hash.update(content.subarray(0, 500))).to.equal(undefined);
    expect(hash.update(content.subarray(500, 3000))).to.be.instanceOf(Promise);
    hash.dispose();
  });

  it('keeps concurrent hashes apart', async () => {
    const other = randomBytes(30_000);
    const [a, b] = await Promise.all([
      feed(hashes.hashFor({ digest: digestOf(content) }), split(content, 900)),
      feed(hashes.hashFor({ digest: digestOf(other) }), split(other, 1100)),
    ]);
    expect([a, b]).to.deep.equal([hexOf(digestOf(content)), hexOf(digestOf(other))]);
  });

  it('still hashes correctly after a hash was given up midway', async () => {
    const abandoned = hashes.hashFor({ digest: digestOf(content) });
    await abandoned.update(content.subarray(0, 2500));
    abandoned.dispose();
    expect(await feed(hashes.hashFor({ digest: digestOf(content) }), split(content, 4096))).to.equal(hexOf(digestOf(content)));
  });

  it('hashes small blobs inline, without the worker', async () => {
    const inlineOnly = new OffThreadHashes({ inlineBelow: 1024 });
    const small = content.subarray(0, 1000);
    const hash = inlineOnly.hashFor({ digest: digestOf(small), size: small.length });
    expect(hash.update(small)).to.equal(undefined);
    expect(hash.digestHex()).to.equal(hexOf(digestOf(small)));
    await inlineOnly.close();
  });

  it('fails open hashes with an internal error when the worker stops', async () => {
    const own = new OffThreadHashes({ batchBytes: 1000, batchesPerHash: 2, inlineBelow: 0 });
    const hash = own.hashFor({ digest: digestOf(content) });
    const waiting = Promise.allSettled([hash.update(content)]);
    await own.close();
    const failures = [...(await waiting), ...(await Promise.allSettled([hash.digestHex()]))];
    expect(failures.map((f) => f.status)).to.deep.equal(['rejected', 'rejected']);
    const reason = (failures[1] as PromiseRejectedResult).reason as Error;
    expect(isProxyError(reason, 'internal')).to.equal(true);
    expect(reason.message).to.contain('hashing worker stopped');
  });

  for (const { name, corrupt } of [
    { name: 'passes intact content through whole', corrupt: false },
    { name: 'never releases a complete body of corrupt content', corrupt: true },
  ]) {
    it(`behind a VerifyingStream, ${name}`, async () => {
      const expected = { digest: digestOf(content), size: content.length };
      const sent = Buffer.from(content);
      if (corrupt) sent[40_000] = sent[40_000]! ^ 0xff;
      const out: Buffer[] = [];
      let error: unknown;
      try {
        for await (const chunk of Readable.from(split(sent, 6000)).pipe(new VerifyingStream(expected, undefined, hashes.hashFor(expected)))) out.push(chunk as Buffer);
      } catch (err) {
        error = err;
      }
      const body = Buffer.concat(out);
      if (corrupt) {
        expect(isProxyError(error, 'digest-mismatch')).to.equal(true);
        expect(body.length).to.be.lessThan(content.length);
      } else {
        expect(error).to.equal(undefined);
        expect(body.equals(content)).to.equal(true);
      }
    });
  }
});

describe('defaultContentHashes', () => {
  const content = randomBytes(2 * 1024 * 1024);
  const expected = { digest: digestOf(content), size: content.length };
  for (const { cores, where } of [
    { cores: 2, where: 'inline' },
    { cores: 8, where: 'on the worker' },
  ]) {
    it(`hashes a large blob ${where} with ${cores} cores`, async () => {
      const hash = defaultContentHashes(cores)(expected);
      for (const chunk of split(content, 64 * 1024)) await hash.update(chunk);
      const hex = hash.digestHex();
      expect(typeof hex === 'string' ? 'inline' : 'on the worker').to.equal(where);
      expect(await hex).to.equal(hexOf(expected.digest));
    });
  }
});
