import { expect } from 'chai';
import { type Progress, ProgressMeter } from '../../src/client/progress.js';

/** Feeds the meter chunks at given clock times; answers the calls as [time, bytes]. */
function run(chunks: readonly (readonly [at: number, length: number])[], end: 'completed' | 'stopped'): [number, number][] {
  let clock = 0;
  const calls: [number, number][] = [];
  const meter = new ProgressMeter(
    (progress: Progress) => calls.push([clock, progress.bytes]),
    'sha256:ab',
    100,
    () => clock,
  );
  for (const [at, length] of chunks) {
    clock = at;
    meter.received(length);
  }
  if (end === 'completed') meter.completed();
  else meter.stop();
  meter.received(1);
  meter.completed();
  return calls;
}

describe("ProgressMeter (the TypeScript client's onProgress throttle)", () => {
  const cases: readonly [string, readonly (readonly [number, number])[], 'completed' | 'stopped', [number, number][]][] = [
    [
      'a body within the first 100 ms gets the final call only',
      [
        [10, 50],
        [60, 50],
      ],
      'completed',
      [[60, 100]],
    ],
    [
      'chunks every 30 ms: one call per 100 ms, then the final one',
      [
        [30, 10],
        [60, 10],
        [90, 10],
        [120, 10],
        [150, 10],
        [180, 10],
        [210, 10],
        [240, 10],
      ],
      'completed',
      [
        [120, 40],
        [240, 80],
        [240, 80],
      ],
    ],
    [
      'a stall: the next chunk calls at once',
      [
        [100, 10],
        [900, 10],
      ],
      'completed',
      [
        [100, 10],
        [900, 20],
        [900, 20],
      ],
    ],
    [
      'stopped (failed or cancelled): no final call, nothing after',
      [
        [100, 10],
        [150, 10],
      ],
      'stopped',
      [[100, 10]],
    ],
  ];
  for (const [why, chunks, end, expected] of cases) {
    it(why, () => {
      expect(run(chunks, end)).to.deep.equal(expected);
    });
  }

  it('tells the digest and total it was made with', () => {
    const calls: Progress[] = [];
    const meter = new ProgressMeter(
      (progress) => calls.push(progress),
      'sha256:cd',
      undefined,
      () => 0,
    );
    meter.received(7);
    meter.completed();
    expect(calls).to.deep.equal([{ digest: 'sha256:cd', bytes: 7, total: undefined }]);
  });
});
