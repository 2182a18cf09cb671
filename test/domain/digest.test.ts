import { expect } from 'chai';
import { digestOf, isDigest, parseDigest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';

const hex64 = 'a'.repeat(64);

describe('digest', () => {
  const valid = [`sha256:${hex64}`, `sha384:${'b'.repeat(96)}`, `sha512:${'c'.repeat(128)}`];
  const invalid = [
    ['upper-case hex', `sha256:${'A'.repeat(64)}`],
    ['short hex', `sha256:${'a'.repeat(63)}`],
    ['long hex', `sha256:${'a'.repeat(65)}`],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`],
    ['sha384 with sha256 length', `sha384:${hex64}`],
    ['path traversal', `sha256:../${hex64}`],
    ['slash', `sha256/${hex64}`],
    ['empty', ''],
    ['no algorithm', hex64],
  ] as const;

  for (const value of valid) {
    it(`accepts ${value.slice(0, 12)}…`, () => {
      expect(parseDigest(value)).to.equal(value);
      expect(isDigest(value)).to.equal(true);
    });
  }
  for (const [why, value] of invalid) {
    it(`rejects ${why}`, () => {
      expect(isDigest(value)).to.equal(false);
      try {
        parseDigest(value);
        expect.fail('parsed');
      } catch (err) {
        expect(isProxyError(err, 'bad-request')).to.equal(true);
      }
    });
  }
  it('hashes bytes', () => {
    expect(digestOf(new TextEncoder().encode('abc'))).to.equal('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
