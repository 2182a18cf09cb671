/**
 * Where Go's encoding/json draws its lines, beyond the conversion vectors: nesting depth
 * (maxNestingDepth: 10000 open containers parse, the 10001st is refused) and times, which
 * Time.UnmarshalJSON parses from the literal's raw bytes, so that any escape makes them invalid.
 */
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { GoTypes as T, goMarshal, goUnmarshal, MAX_NESTING_DEPTH, parseGoJson, type JsonValue } from '../../src/domain/go-json.js';
import { guessManifestMediaType, parseManifest } from '../../src/domain/manifest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { convertSchema2ToOci } from '../../src/domain/oci-conversion.js';
import { expectProxyError } from '../support/proxy-errors.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** `levels` containers, each the only member of the one around it, objects under the key "k". */
function nested(levels: number, shape: 'arrays' | 'objects' | 'mixed', innermost = ''): string {
  const opens: string[] = [];
  const closes: string[] = [];
  for (let i = 0; i < levels; i++) {
    const object = shape === 'objects' || (shape === 'mixed' && i % 2 === 1);
    opens.push(object ? '{"k":' : '[');
    closes.push(object ? '}' : ']');
  }
  // An object's only member needs a value: the innermost object holds `null` when nothing is given.
  const inner = innermost !== '' ? innermost : opens.at(-1) === '{"k":' ? 'null' : '';
  return opens.join('') + inner + closes.reverse().join('');
}

function depthOf(value: JsonValue): number {
  let depth = 0;
  let current: JsonValue | undefined = value;
  while (current !== null && typeof current === 'object' && ('entries' in current || Array.isArray(current))) {
    depth++;
    current = Array.isArray(current)
      ? (current as readonly JsonValue[])[0]
      : (current as { entries: readonly (readonly [string, JsonValue])[] }).entries[0]?.[1];
  }
  return depth;
}

const expectManifestInvalid = (fn: () => unknown, pattern: RegExp): void => expectProxyError(fn, 'manifest-invalid', pattern);

function schema2With(config: Uint8Array): Uint8Array {
  return encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerSchema2,
      config: { mediaType: MediaType.dockerConfig, size: config.length, digest: digestOf(config) },
      layers: [],
    }),
  );
}

describe('go-json nesting depth (Go maxNestingDepth)', () => {
  it("is Go's 10000", () => expect(MAX_NESTING_DEPTH).to.equal(10000));
  for (const shape of ['arrays', 'objects', 'mixed'] as const) {
    it(`parses ${MAX_NESTING_DEPTH} nested ${shape}, without overflowing the stack`, () => {
      expect(depthOf(parseGoJson(encode(nested(MAX_NESTING_DEPTH, shape))))).to.equal(MAX_NESTING_DEPTH);
    });
    it(`refuses ${MAX_NESTING_DEPTH + 1} nested ${shape}, naming the limit`, () => {
      expectManifestInvalid(() => parseGoJson(encode(nested(MAX_NESTING_DEPTH + 1, shape))), /offset \d+ exceeds the maximum nesting depth of 10000/);
    });
  }
  it('parses a scalar inside 10000 arrays: scalars do not count', () => {
    expect(depthOf(parseGoJson(encode(nested(MAX_NESTING_DEPTH, 'arrays', '1'))))).to.equal(MAX_NESTING_DEPTH);
  });
  it('counts open containers, not all containers: 10000 levels side by side parse', () => {
    const twice = `[${nested(MAX_NESTING_DEPTH - 1, 'arrays')},${nested(MAX_NESTING_DEPTH - 1, 'objects')}]`;
    expect(parseGoJson(encode(twice))).to.have.length(2);
  });
  it('refuses a million unclosed brackets at the limit, not with a RangeError', () => {
    expectManifestInvalid(() => parseGoJson(encode('['.repeat(1_000_000))), /offset 10000 exceeds the maximum nesting depth/);
  });
  it('reports the end of input inside 10000 unclosed brackets', () => {
    expectManifestInvalid(() => parseGoJson(encode('['.repeat(MAX_NESTING_DEPTH))), /unexpected end of input/);
  });
  it('reports syntax errors inside deep nesting at their offset', () => {
    expectManifestInvalid(() => parseGoJson(encode(`${'['.repeat(5000)}1,]${']'.repeat(4999)}`)), /unexpected character "]" at offset 5002/);
    expectManifestInvalid(() => parseGoJson(encode(`${'{"k":'.repeat(5000)}1,}`)), /at offset 25002 looking for beginning of object key string/);
  });

  // Documents at Go's limit must also survive what comes after parsing.
  const deepField = (total: number): string => nested(total - 1, 'mixed', '1');
  it('accepts an OCI manifest whose unknown field makes it 10000 deep, and guesses its type', () => {
    const manifest = encode(
      `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","config":{"mediaType":"${MediaType.ociConfig}","digest":"${digestOf(encode('{}'))}","size":2},"layers":[],"x":${deepField(MAX_NESTING_DEPTH)}}`,
    );
    expect(parseManifest(manifest, MediaType.ociManifest).kind).to.equal('oci-manifest');
    expect(guessManifestMediaType(manifest)).to.equal(MediaType.ociManifest);
  });
  it('recognises a schema1 manifest whose history entries (decoded untyped) are 10000 deep', () => {
    const manifest = encode(`{"schemaVersion":1,"fsLayers":[{}],"history":[${deepField(MAX_NESTING_DEPTH - 1)}]}`);
    expect(parseManifest(manifest, MediaType.dockerSchema1).kind).to.equal('docker-schema1');
  });
  it('converts a docker config whose unknown field makes it 10000 deep, and refuses one level more', () => {
    const config = (total: number): Uint8Array =>
      encode(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"x":${deepField(total)}}`);
    const ok = config(MAX_NESTING_DEPTH);
    expect(decode(convertSchema2ToOci(schema2With(ok), ok).config)).to.equal(
      '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
    );
    const deeper = config(MAX_NESTING_DEPTH + 1);
    expectManifestInvalid(
      () => convertSchema2ToOci(schema2With(deeper), deeper),
      /cannot be converted to OCI: invalid JSON: .* maximum nesting depth of 10000/,
    );
  });
});

describe('go-json times from the raw literal (Time.UnmarshalJSON)', () => {
  const TIMED = T.struct({ key: 'created', type: T.time, omitempty: true }, { key: 'author', type: T.string, omitempty: true });
  const refused: [string, string][] = [
    ['an escaped T', '2023-01-01\\u005400:00:00Z'],
    ['an escaped digit', '\\u00323023-01-01T00:00:00Z'],
    ['an escaped Z', '2023-01-01T00:00:00\\u005a'],
    ['an escaped plus in the offset', '2023-01-01T00:00:00\\u002b01:00'],
  ];
  for (const [what, literal] of refused) {
    it(`refuses a time with ${what}, as Go does`, () => {
      expectManifestInvalid(() => goUnmarshal(encode(`{"created":"${literal}"}`), TIMED), /created: .* is written with escapes/);
    });
  }
  it('refuses an escaped time in history, naming the entry', () => {
    const config = encode(
      '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"created":"2023-01-01T00:00:00Z"},{"created":"2023-01-01\\u005400:00:00Z"}]}',
    );
    expectManifestInvalid(() => convertSchema2ToOci(schema2With(config), config), /history\[1\]\.created: "2023-01-01T00:00:00Z" is written with escapes/);
  });
  it('still decodes escapes in strings that are not times', () => {
    const value = goUnmarshal(encode('{"created":"2023-01-01T00:00:00Z","author":"\\u0041\\n\\ud83d\\ude00"}'), TIMED);
    expect(decode(goMarshal(value, TIMED))).to.equal('{"created":"2023-01-01T00:00:00Z","author":"A\\n😀"}');
  });
  it('takes null as no time, and refuses an escaped string where a time is only a string in disguise', () => {
    expect(decode(goMarshal(goUnmarshal(encode('{"created":null}'), TIMED), TIMED))).to.equal('{}');
    expectManifestInvalid(() => goUnmarshal(encode('{"created":"\\"2023-01-01T00:00:00Z\\""}'), TIMED), /written with escapes/);
  });
});

describe('go-json strings decoded untyped (interface{})', () => {
  it('unescapes strings decoded into interface{}, however deep, as Go does (only times see raw bytes)', () => {
    const ANY = T.struct({ key: 'x', type: T.any });
    const value = goUnmarshal(encode('{"x":[{"k":"\\u0061b"},"c\\n",["\\ud83d\\ude00"]]}'), ANY) as { x: JsonValue };
    const [object, text, array] = value.x as readonly JsonValue[];
    expect([(object as { entries: unknown }).entries, text, array]).to.deep.equal([[['k', 'ab']], 'c\n', ['😀']]);
  });
  it('unescapes an interface{} string 10000 containers deep without overflowing the stack', () => {
    const value = goUnmarshal(encode(`{"x":${nested(MAX_NESTING_DEPTH - 1, 'arrays', '"\\u0061"')}}`), T.struct({ key: 'x', type: T.any })) as { x: JsonValue };
    let innermost: JsonValue = value.x;
    while (Array.isArray(innermost)) innermost = (innermost as readonly JsonValue[])[0]!;
    expect(innermost).to.equal('a');
  });
});

describe("go-json numbers (Go's scanner: no length limit)", () => {
  it("parses numbers of any length: Go's scanner has no limit", () => {
    const long = `0.${'0'.repeat(1500)}1`;
    const exponent = `-1${'2'.repeat(3000)}.5e+${'9'.repeat(2000)}`;
    expect(parseGoJson(encode(`{"x":${long}}`))).to.deep.equal(parseGoJson(encode(`{"x":${long}}`)));
    expect((parseGoJson(encode(`{"x":${long}}`)) as { entries: [string, { text: string }][] }).entries[0]![1].text).to.equal(long);
    expect((parseGoJson(encode(`[${exponent}]`)) as readonly { text: string }[])[0]!.text).to.equal(exponent);
    expect(() => goUnmarshal(encode(`{"x":${long}}`), T.struct({ key: 'x', type: T.int }))).to.throw(/expected an integer/);
  });
  it('scans a 10 MB number in linear time', () => {
    const started = process.hrtime.bigint();
    expect((parseGoJson(encode(`[1${'0'.repeat(10_000_000)}]`)) as readonly { text: string }[])[0]!.text).to.have.length(10_000_001);
    expect(Number(process.hrtime.bigint() - started) / 1e9).to.be.below(10);
  });
  const malformed: [string, RegExp][] = [
    ['-', /end of input in numeric literal/],
    ['-x', /"x" at offset 2 in numeric literal/],
    [`1.${'0'.repeat(2000)}e`, /end of input in numeric literal/],
    ['1.e5', /"e" at offset 3 in numeric literal/],
    ['01', /"1" at offset 2 after array element/],
  ];
  for (const [text, pattern] of malformed) {
    it(`refuses the number ${text.length > 12 ? `${text.slice(0, 6)}…` : text}, naming where`, () => {
      expectManifestInvalid(() => parseGoJson(encode(`[${text}`)), pattern);
    });
  }
});
