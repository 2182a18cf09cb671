/**
 * The Python client's `progress=` through a real proxy. The driver reads slowly (a fixed pause
 * per byte) and the proxy waits on backpressure, so the 2 MiB blob streams for about a second.
 */
import { expect } from 'chai';
import { requireTool } from '../e2e/e2e-images.js';
import { type ClientImages, writeClientImages } from './client-images.js';
import { pythonAvailable, runScenario } from './python-driver.js';

interface Call {
  /** time.monotonic() of the call, in seconds. */
  readonly at: number;
  readonly digest: string;
  readonly bytes: number;
  readonly total: number | null;
}

interface Streamed {
  readonly sha256: string;
  readonly size: number;
}

interface ProxyErrorJson {
  readonly code: string;
  readonly message: string;
}

describe('Python client: progress= over a real proxy', function () {
  this.timeout(40000);
  let images: ClientImages;
  const large = () => images.fixtures.ociLarge.layers[0]!;

  before(async function () {
    requireTool(this, pythonAvailable, 'python3');
    images = await writeClientImages();
  });
  after(async () => {
    await images?.cleanup();
  });

  it('reports a 2 MiB blob read over ~1 s at most every 0.1 s, bytes rising to its size, the final call at the end', () => {
    const layer = large();
    const out = runScenario<{ read: Streamed; elapsed: number; calls: Call[]; ended: number }>('progress-slow', {
      image: `oci:${images.layout}:large`,
      digest: layer.digest,
    });
    const { calls } = out;
    expect(out.read).to.deep.equal({ sha256: layer.digest, size: layer.bytes.length });
    expect(out.elapsed, 'the slow reader sets the pace').to.be.at.least(0.9);
    expect(calls.length, 'calls while it streams, not only the final one').to.be.at.least(3);
    expect(calls.length, `${calls.length} calls in ${out.elapsed} s`).to.be.at.most(Math.floor(out.elapsed * 10) + 2);
    // The final call may follow the last throttled one closely: the others are 0.1 s apart.
    for (const [i, call] of calls.slice(1, -1).entries()) expect(call.at - calls[i]!.at).to.be.at.least(0.099);
    expect(calls.every((call) => call.digest === layer.digest && call.total === layer.bytes.length)).to.equal(true);
    const bytes = calls.map((call) => call.bytes);
    expect(bytes, 'never decreasing').to.deep.equal([...bytes].sort((a, b) => a - b));
    expect([bytes.at(-1), calls.at(-1)!.at <= out.ended]).to.deep.equal([layer.bytes.length, true]);
  });

  it('counts tar bytes read decompressed, total None unless the layer is uncompressed; a reader closed at the archive end still gets its final call', () => {
    const out = runScenario<{ tar: Streamed; last: Call; drained_last: Call | null }[]>('progress-decompressed', { image: `oci:${images.mixedLayout}:mixed` });
    expect(out.map((layer) => layer.tar.sha256)).to.deep.equal(images.mixed.layers.map((layer) => layer.diffId));
    for (const [i, layer] of images.mixed.layers.entries()) {
      const expected = { digest: layer.digest, bytes: out[i]!.tar.size, total: layer.compression === 'none' ? layer.bytes.length : null };
      expect(out[i]!.last, `${layer.compression} layer`).to.deep.include(expected);
      expect(out[i]!.drained_last, `${layer.compression} layer, with tarfile`).to.deep.include(expected);
    }
  });

  it('makes no call after a Cancellation, and none reports the whole blob', () => {
    const layer = large();
    const out = runScenario<{ error: ProxyErrorJson; calls: Call[]; at_cancel: number[]; open: number }>('progress-cancel', {
      image: `oci:${images.layout}:large`,
      digest: layer.digest,
    });
    expect(out.error.code).to.equal('cancelled');
    expect(out.at_cancel).to.have.length(1);
    expect(out.calls.length).to.equal(out.at_cancel[0]);
    expect(out.calls.every((call) => call.bytes < layer.bytes.length)).to.equal(true);
    expect(out.open).to.equal(3);
  });

  it('makes no final call for a corrupt blob: the calls stop short of its size, none after the error', () => {
    const layer = large();
    const out = runScenario<{ error: ProxyErrorJson; again: ProxyErrorJson; calls: Call[]; at_error: number }>('progress-corrupt', {
      image: `oci:${images.corruptLayout}:large`,
      digest: layer.digest,
    });
    expect([out.error.code, out.again]).to.deep.equal(['incomplete-body', out.error]);
    expect(out.at_error, 'calls while it streamed').to.be.at.least(1);
    expect(out.calls.length).to.equal(out.at_error);
    expect(out.calls.every((call) => call.bytes < layer.bytes.length)).to.equal(true);
  });

  it('raises what the callable raises, at that read and every later one, closing that connection only; refuses a progress that is not callable', () => {
    const layer = large();
    const out = runScenario<{ errors: string[]; calls: number; refused: string[]; open: number; then: string }>('progress-raises', {
      image: `oci:${images.layout}:large`,
      digest: layer.digest,
    });
    expect(out).to.deep.equal({
      errors: ['the progress display broke', 'the progress display broke'],
      calls: 1,
      refused: ['progress must be callable, got str', 'progress must be callable, got str'],
      open: 3,
      then: 'amd64',
    });
  });
});
