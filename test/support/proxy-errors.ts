import { expect } from 'chai';
import { type ErrorCode, isProxyError } from '../../src/domain/errors.js';

/** Runs `fn`, which must throw a ProxyError of `code` whose message matches `pattern` (or contains it). */
export function expectProxyError(fn: () => unknown, code: ErrorCode, pattern: RegExp | string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isProxyError(thrown, code), String(thrown)).to.equal(true);
  const message = (thrown as Error).message;
  if (typeof pattern === 'string') expect(message).to.contain(pattern);
  else expect(message).to.match(pattern);
}
