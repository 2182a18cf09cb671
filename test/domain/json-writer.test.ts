import { expect } from 'chai';
import fc from 'fast-check';
import { jsonExcerpt, writeJson } from '../../src/domain/json-writer.js';
import { fuzzParameters } from '../fuzz/fuzz-support.js';

describe('writeJson and jsonExcerpt', () => {
  it('writes what JSON.stringify writes when it fits', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(writeJson(value)).to.equal(JSON.stringify(value));
        expect(jsonExcerpt(value, Number.MAX_SAFE_INTEGER)).to.equal(JSON.stringify(value));
      }),
      fuzzParameters(),
    );
  });
  it('cuts at the limit, marking the cut', () => {
    expect(jsonExcerpt({ Tag: 'latest', list: [1, 2, 3] }, 20)).to.equal('{"Tag":"latest","lis…');
    expect(jsonExcerpt('x'.repeat(500), 5)).to.equal('"xxxx…');
    expect(jsonExcerpt([], 5)).to.equal('[]');
  });
  it('prints a value nested 100000 levels deep without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(() => JSON.stringify(deep)).to.throw(RangeError);
    expect(jsonExcerpt(deep, 10)).to.equal(`${'['.repeat(10)}…`);
  });
  it('prints the start of a huge array without walking all of it', () => {
    expect(jsonExcerpt(new Array(1_000_000).fill(7), 8)).to.equal('[7,7,7,7…');
  });
  it('sorts keys by UTF-16 code units when asked, at every level', () => {
    expect(writeJson({ b: 1, a: { d: [3, { z: 0, y: 1 }], c: null } }, { sortKeys: true })).to.equal('{"a":{"c":null,"d":[3,{"y":1,"z":0}]},"b":1}');
  });
  it('writes 100000 levels without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(writeJson(deep)).to.have.length(200_000);
  });
});
