import { expect } from 'chai';
import { MEASURE_MS, RETRY_MS, StreamCount } from '../../../src/adapters/distribution/stream-count.js';

/** Feeds `rates` (bytes per ms, one per step) as each step's whole measurement; answers the streams after each. */
function run(max: number, rates: (streams: number) => number, steps: number): number[] {
  const count = new StreamCount(max, 0);
  const seen: number[] = [];
  // The warm-up is not measured.
  let now = MEASURE_MS;
  count.record(1e9, now);
  for (let i = 0; i < steps && !count.settled && count.pausedUntil === undefined; i++) {
    now += MEASURE_MS;
    seen.push(count.record(rates(count.streams) * MEASURE_MS, now));
  }
  return seen;
}

describe('distribution: how many streams a blob gets (StreamCount)', () => {
  it('a registry that caps each connection: grows fourfold once two streams brought twice one, up to the limit', () => {
    expect(run(8, (streams) => 20 * streams, 10)).to.deep.equal([2, 8, 8]);
    expect(run(64, (streams) => 20 * streams, 10)).to.deep.equal([2, 8, 32, 64, 64]);
  });

  it('streams that bring less than three quarters of theirs: doubled, not quadrupled', () => {
    // Each doubling brings +60 %: enough to go on, not enough to go faster.
    expect(run(16, (streams) => 100 * 1.6 ** Math.log2(streams), 10)).to.deep.equal([2, 4, 8, 16, 16]);
  });

  it('one connection already gets everything: back to one stream after the probe', () => {
    expect(run(8, () => 1000, 10)).to.deep.equal([2, 1]);
  });

  it('a gain that flattens: keeps the step that still paid some, stops growing', () => {
    // 1 → 2 brings +50 %, 2 → 4 +30 % (more than a quarter of the +100 % a cap would give, less than half).
    expect(run(16, (streams) => (streams === 1 ? 100 : streams === 2 ? 150 : 195), 10)).to.deep.equal([2, 4, 4]);
  });

  it('a step that brings next to nothing is undone', () => {
    expect(run(16, (streams) => (streams === 1 ? 100 : streams === 2 ? 150 : 160), 10)).to.deep.equal([2, 4, 2]);
  });

  it('--max-parallel-per-blob 1: never more than one', () => {
    const count = new StreamCount(1, 0);
    expect([count.settled, count.record(1e9, 1e6)]).to.deep.equal([true, 1]);
  });

  it('a probe that ends early is judged on its own duration', () => {
    const count = new StreamCount(8, 0);
    expect(count.record(1e9, MEASURE_MS), 'the warm-up is not measured').to.equal(1);
    expect(count.record(20 * MEASURE_MS, 2 * MEASURE_MS)).to.equal(2);
    count.restart(1000);
    count.record(2 * 20 * 50, 1050);
    expect(count.conclude(1050)).to.equal(8);
  });

  it('a pause ends after RETRY_MS: the streams are measured again and the next step tried', () => {
    const count = new StreamCount(16, 0);
    count.record(0, MEASURE_MS);
    const rate = (streams: number): number => (streams <= 2 ? 100 * streams : 210);
    let now = MEASURE_MS;
    const step = (): number => count.record(rate(count.streams) * MEASURE_MS, (now += MEASURE_MS));
    expect([step(), step(), step()]).to.deep.equal([2, 8, 2]);
    const paused = count.pausedUntil!;
    expect(paused - now).to.equal(RETRY_MS);
    while (now + MEASURE_MS < paused) step();
    expect(count.streams, 'still paused').to.equal(2);
    step();
    // The wait is over: 2 streams are measured again, then 4 tried again.
    expect([step(), step()]).to.deep.equal([4, 2]);
    expect(count.pausedUntil! - now, 'the next wait is twice as long').to.equal(2 * RETRY_MS);
  });
});
