import { expect } from 'chai';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelay } from '../../../src/adapters/distribution/retry-after.js';

describe('distribution: Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const parses: readonly [string, string | undefined, number | undefined][] = [
    ['delta seconds', '3', 3000],
    ['zero', '0', 0],
    ['an HTTP date', 'Thu, 01 Jan 2026 00:00:05 GMT', 5000],
    ['a date in the past', 'Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['garbage', 'soon', undefined],
    ['a negative number', '-1', undefined],
    ['absent', undefined, undefined],
  ];
  for (const [what, value, expected] of parses) {
    it(`reads ${what}`, () => {
      expect(parseRetryAfter(value, now)).to.equal(expected);
    });
  }

  const delays: readonly [string, number, string | undefined, number][] = [
    ['1 s first without Retry-After', 1, undefined, 1000],
    ['doubling after that', 3, undefined, 4000],
    ['capped at 60 s', 7, undefined, 60_000],
    ['Retry-After when present', 2, '1', 1000],
    ['a capped Retry-After', 1, '3600', 60_000],
  ];
  for (const [what, attempt, header, expected] of delays) {
    it(`waits ${what}`, () => {
      expect(retryDelay(DEFAULT_RETRY_POLICY, attempt, header, now)).to.equal(expected);
    });
  }
});
