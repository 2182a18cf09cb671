/**
 * `onProgress` on blob and layer reads, through the real client and a real proxy child. The
 * reader takes its chunks slowly (a fixed pause per byte), and backpressure makes the proxy wait
 * for it, so a 2 MiB blob streams for about a second on any machine.
 */
import { createHash } from 'node:crypto';
import { type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { ImageProxyError, type Progress } from '../../src/client/index.js';
import { rejection, sha256Of } from './client-assertions.js';
import { clientSuite } from './client-suite.js';

/** 2 MiB a second: the large layer takes ~1 s. */
const BYTES_PER_SECOND = 2 * 1024 * 1024;

interface Call extends Progress {
  readonly at: number;
}

function recorder(): { calls: Call[]; onProgress: (progress: Progress) => void } {
  const calls: Call[] = [];
  return { calls, onProgress: (progress) => calls.push({ ...progress, at: performance.now() }) };
}

/** Reads `stream` at BYTES_PER_SECOND; `after` runs after each chunk's pause (to cancel, say). */
async function readSlowly(stream: Readable, after: () => void = () => undefined): Promise<{ digest: string; size: number; endedAt: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    await delay((chunk.length / BYTES_PER_SECOND) * 1000);
    after();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, endedAt: performance.now() };
}

/** Gaps between consecutive calls, the final call left out: it may follow the last one closely. */
function throttledGaps(calls: readonly Call[]): number[] {
  return calls.slice(1, -1).map((call, i) => call.at - calls[i]!.at);
}

describe('TypeScript client: onProgress over a real proxy', function () {
  this.timeout(30000);
  const suite = clientSuite();
  const { start } = suite;
  const large = () => suite.images().fixtures.ociLarge.layers[0]!;

  it('reports a 2 MiB blob read over ~1 s at most every 100 ms, bytes rising to its size, the final call before the end', async () => {
    const images = suite.images();
    const layer = large();
    const proxy = await start({ image: `oci:${images.layout}:large` });
    const { calls, onProgress } = recorder();
    const begun = performance.now();
    const read = await readSlowly(await proxy.blob(layer.digest, { onProgress }));
    const elapsed = read.endedAt - begun;
    expect([read.digest, read.size]).to.deep.equal([layer.digest, layer.bytes.length]);
    expect(elapsed, 'the slow reader sets the pace').to.be.at.least(900);
    expect(calls.length, 'calls while it streams, not only the final one').to.be.at.least(3);
    expect(calls.length, `${calls.length} calls in ${Math.round(elapsed)} ms`).to.be.at.most(Math.floor(elapsed / 100) + 2);
    for (const gap of throttledGaps(calls)) expect(gap).to.be.at.least(99);
    expect(calls.every((call) => call.digest === layer.digest && call.total === layer.bytes.length)).to.equal(true);
    const bytes = calls.map((call) => call.bytes);
    expect(bytes, 'never decreasing').to.deep.equal([...bytes].sort((a, b) => a - b));
    expect(bytes[0]).to.be.above(0);
    expect(calls.at(-1)!.bytes).to.equal(layer.bytes.length);
    expect(calls.at(-1)!.at).to.be.at.most(read.endedAt);
  });

  it('gives a blob that arrives within 100 ms its final call only (at most one before it), at its whole size', async () => {
    const images = suite.images();
    const proxy = await start({ image: `oci:${images.layout}:single` });
    const layer = images.fixtures.ociSingle.layers[0]!;
    const { calls, onProgress } = recorder();
    expect((await sha256Of(await proxy.blob(layer.digest, { onProgress }))).digest).to.equal(layer.digest);
    expect(calls.length).to.be.within(1, 2);
    expect(calls.at(-1)).to.deep.include({ digest: layer.digest, bytes: layer.bytes.length, total: layer.bytes.length });
  });

  it('counts tar bytes on decompressed reads: total undefined for gzip and zstd layers, the size for an uncompressed one', async () => {
    const images = suite.images();
    const proxy = await start({ image: `oci:${images.mixedLayout}:mixed` });
    for (const layer of images.mixed.layers) {
      const { calls, onProgress } = recorder();
      const { digest, bytes } = await sha256Of(await proxy.decompressedLayer(layer.digest, { onProgress }));
      expect(digest).to.equal(layer.diffId);
      const expectedTotal = layer.compression === 'none' ? layer.bytes.length : undefined;
      expect(calls.at(-1), `${layer.compression} layer`).to.deep.include({ digest: layer.digest, bytes: bytes.length, total: expectedTotal });
    }
  });

  it('makes no call after a cancel, and none reports the whole blob', async () => {
    const images = suite.images();
    const layer = large();
    const proxy = await start({ image: `oci:${images.layout}:large` });
    const { calls, onProgress } = recorder();
    const controller = new AbortController();
    let callsAtAbort = -1;
    const reading = readSlowly(await proxy.blob(layer.digest, { onProgress, signal: controller.signal }), () => {
      if (calls.length > 0 && !controller.signal.aborted) {
        callsAtAbort = calls.length;
        controller.abort();
      }
    });
    const err = await rejection(reading);
    expect(err.code).to.equal('cancelled');
    await delay(300);
    expect(calls.length).to.equal(callsAtAbort);
    expect(calls.every((call) => call.bytes < layer.bytes.length)).to.equal(true);
    expect(proxy.openConnections).to.equal(3);
  });

  it('makes no final call for a corrupt blob: the calls stop short of its size, none after the error', async () => {
    const images = suite.images();
    const layer = large();
    const proxy = await start({ image: `oci:${images.corruptLayout}:large` });
    const { calls, onProgress } = recorder();
    const err = await rejection(readSlowly(await proxy.blob(layer.digest, { onProgress })));
    expect(err.code).to.equal('incomplete-body');
    const callsAtError = calls.length;
    await delay(300);
    expect(calls.length).to.equal(callsAtError);
    expect(callsAtError, 'calls while it streamed').to.be.at.least(1);
    expect(calls.every((call) => call.bytes < layer.bytes.length)).to.equal(true);
  });

  it('fails the stream with the exception a callback throws, closing that connection only', async () => {
    const images = suite.images();
    const layer = large();
    const proxy = await start({ image: `oci:${images.layout}:large` });
    const thrown = new Error('the progress display broke');
    let calls = 0;
    const onProgress = () => {
      calls += 1;
      throw thrown;
    };
    let caught: unknown;
    try {
      await readSlowly(await proxy.blob(layer.digest, { onProgress }));
    } catch (err) {
      caught = err;
    }
    expect([caught, calls]).to.deep.equal([thrown, 1]);
    expect(proxy.openConnections).to.equal(3);
    expect((await proxy.config()).architecture).to.equal('amd64');
  });

  it('fails the stream with the reason an async callback rejects with, never an unhandled rejection', async () => {
    const images = suite.images();
    const layer = large();
    const proxy = await start({ image: `oci:${images.layout}:large` });
    const rejected = new Error('the progress display broke later');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    // Mocha's own listener would fail the test too, but only after this one has passed.
    const mochaListeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onUnhandled);
    let calls = 0;
    let caught: unknown;
    try {
      const onProgress = async (): Promise<void> => {
        calls += 1;
        await delay(1);
        throw rejected;
      };
      await readSlowly(await proxy.blob(layer.digest, { onProgress }));
    } catch (err) {
      caught = err;
    } finally {
      await delay(10);
      process.off('unhandledRejection', onUnhandled);
      for (const listener of mochaListeners) process.on('unhandledRejection', listener);
    }
    expect([caught, unhandled]).to.deep.equal([rejected, []]);
    expect(calls).to.be.at.least(1);
    expect((await proxy.config()).architecture).to.equal('amd64');
  });

  it('refuses an onProgress that is not a function before any request', async () => {
    const images = suite.images();
    const proxy = await start({ image: `oci:${images.layout}:single` });
    const layer = images.fixtures.ociSingle.layers[0]!;
    const options = { onProgress: 'yes' } as unknown as { onProgress: (progress: Progress) => void };
    for (const read of [() => proxy.blob(layer.digest, options), () => proxy.decompressedLayer(layer.digest, options)]) {
      let caught: unknown;
      try {
        await read();
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(TypeError).and.not.instanceOf(ImageProxyError);
      expect((caught as Error).message).to.equal('onProgress must be a function, got string');
    }
    expect(proxy.openConnections).to.equal(4);
  });
});
