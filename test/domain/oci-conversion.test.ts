import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { MediaType } from '../../src/domain/media-types.js';
import { convertSchema2ToOci } from '../../src/domain/oci-conversion.js';
import { EscapedString, goQuote, GoTypes as T, goMarshal, goUnmarshal, parseGoJson } from '../../src/domain/go-json.js';

// Tests run from dist/test/domain; the fixtures stay in the source tree.
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'conversion');
const read = (...parts: string[]): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, ...parts)));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function schema2With(config: Uint8Array, layers: readonly object[] = []): Uint8Array {
  return encode({
    schemaVersion: 2,
    mediaType: MediaType.dockerSchema2,
    config: { mediaType: MediaType.dockerConfig, size: config.length, digest: digestOf(config) },
    layers,
  });
}

function expectError(fn: () => unknown, code: Parameters<typeof isProxyError>[1], pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isProxyError(err, code), String(err)).to.equal(true);
    expect((err as Error).message).to.match(pattern);
    return;
  }
  expect.fail('expected an error');
}

describe('convertSchema2ToOci', () => {
  describe('vectors made by skopeo copy --format oci', () => {
    const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'go-oracle');
    it('has the vectors', () => expect(cases.length).to.be.at.least(7));
    for (const { name } of cases) {
      it(`${name}: manifest and config are byte-identical`, () => {
        const result = convertSchema2ToOci(read(name, 'docker-manifest.json'), read(name, 'docker-config.json'));
        expect(text(result.config)).to.equal(text(read(name, 'oci-config.json')));
        expect(Buffer.from(result.config).equals(read(name, 'oci-config.json'))).to.equal(true);
        expect(text(result.manifest)).to.equal(text(read(name, 'oci-manifest.json')));
        expect(result.configDigest).to.equal(digestOf(read(name, 'oci-config.json')));
      });
    }
  });

  describe("vectors made by Go's encoding/json with image-spec v1.1.1", () => {
    const cases = readdirSync(join(FIXTURES, 'go-oracle'));
    it('has the vectors', () => expect(cases.length).to.be.at.least(2));
    for (const name of cases) {
      it(`${name}: config is byte-identical`, () => {
        const config = read('go-oracle', name, 'docker-config.json');
        const result = convertSchema2ToOci(schema2With(config), config);
        expect(text(result.config)).to.equal(text(read('go-oracle', name, 'oci-config.json')));
        expect(Buffer.from(result.config).equals(read('go-oracle', name, 'oci-config.json'))).to.equal(true);
      });
    }
  });

  describe('layers', () => {
    const config = encode({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const layer = (mediaType: string): object => ({ mediaType, size: 3, digest: `sha256:${'a'.repeat(64)}` });
    const mapped: [string, string][] = [
      [MediaType.dockerLayerGzip, MediaType.ociLayerGzip],
      [MediaType.dockerLayerTar, MediaType.ociLayerTar],
      [MediaType.dockerForeignLayerGzip, MediaType.ociForeignLayerGzip],
      [MediaType.dockerForeignLayerTar, MediaType.ociForeignLayerTar],
      [MediaType.dockerLayerZstd, MediaType.ociLayerZstd],
    ];
    for (const [docker, oci] of mapped) {
      it(`${docker} → ${oci}`, () => {
        const result = convertSchema2ToOci(schema2With(config, [layer(docker)]), config);
        expect(JSON.parse(text(result.manifest)).layers[0].mediaType).to.equal(oci);
      });
    }
    it('refuses a type containers/image parses but cannot convert', () => {
      expectError(
        () => convertSchema2ToOci(schema2With(config, [layer(MediaType.dockerConfig)]), config),
        'manifest-invalid',
        /^Unknown media type during manifest conversion: "application\/vnd\.docker\.container\.image\.v1\+json"/,
      );
    });
    it('refuses an unknown layer type while parsing, as containers/image does', () => {
      expectError(
        () => convertSchema2ToOci(schema2With(config, [layer('application/x-unknown')]), config),
        'manifest-invalid',
        /unsupported docker v2s2 media type "application\/x-unknown"/,
      );
    });
  });

  describe('config errors', () => {
    it('refuses a config that is not the one the manifest names', () => {
      const config = encode({ architecture: 'amd64', os: 'linux' });
      expectError(() => convertSchema2ToOci(schema2With(config), encode({ architecture: 'arm64', os: 'linux' })), 'digest-mismatch', /does not match/);
    });
    const table: [string, string, RegExp][] = [
      ['not JSON', '{"os":', /invalid JSON/],
      ['an empty created', '{"created":""}', /created: "" is not an RFC 3339 time/],
      ['a lower-case z', '{"created":"2020-01-01T00:00:00z"}', /created/],
      ['an hour 24', '{"created":"2020-01-01T24:00:00Z"}', /created/],
      ['February 30', '{"created":"2020-02-30T00:00:00Z"}', /created/],
      ['a second 60', '{"created":"2020-01-01T00:00:60Z"}', /created/],
      ['an offset of 24 hours, which Go cannot marshal', '{"created":"2020-01-01T00:00:00+24:00"}', /created/],
      ['a number as time', '{"history":[{"created":1}]}', /history\[0\]\.created: expected an RFC 3339 time string, found number 1/],
      ['Env as a string', '{"config":{"Env":"A=1"}}', /config\.Env: expected an array, found string/],
      ['a string empty_layer', '{"history":[{"empty_layer":"true"}]}', /history\[0\]\.empty_layer: expected a bool, found string/],
      ['a number label', '{"config":{"Labels":{"a":1}}}', /config\.Labels\["a"\]: expected a string, found number 1/],
      ['a string exposed port', '{"config":{"ExposedPorts":{"80/tcp":"yes"}}}', /ExposedPorts/],
      ['an array document', '[]', /document: expected an object/],
    ];
    for (const [why, config, message] of table) {
      it(`refuses ${why}`, () => {
        const bytes = encode(config);
        expectError(() => convertSchema2ToOci(schema2With(bytes), bytes), 'manifest-invalid', message);
      });
    }
    it('converts the config "null" to an empty image, as Go does', () => {
      const bytes = encode('null');
      expect(text(convertSchema2ToOci(schema2With(bytes), bytes).config)).to.equal(
        '{"architecture":"","os":"","config":{},"rootfs":{"type":"","diff_ids":null}}',
      );
    });
  });
});

describe('go-json', () => {
  it('quotes like Go 1.22+: short \\b and \\f, HTML and line separators escaped, DEL kept', () => {
    expect(goQuote('\b\f\u0000\u001f<>&\u2028\u2029\u007f"\\é😀')).to.equal('"\\b\\f\\u0000\\u001f\\u003c\\u003e\\u0026\\u2028\\u2029\u007f\\"\\\\é😀"');
  });
  const times: [string, string][] = [
    ['2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z'],
    ['2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00Z'],
    ['2020-01-01T00:00:00.123456789123Z', '2020-01-01T00:00:00.123456789Z'],
    ['2020-01-01T00:00:00+00:00', '2020-01-01T00:00:00Z'],
    ['2020-01-01T00:00:00-00:00', '2020-01-01T00:00:00Z'],
    ['2020-01-01T00:00:00.5+23:59', '2020-01-01T00:00:00.5+23:59'],
    ['2020-01-01T00:00:00-01:60', '2020-01-01T00:00:00-02:00'],
    ['2020-01-01T7:00:00,25Z', '2020-01-01T07:00:00.25Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00Z'],
  ];
  for (const [input, output] of times) {
    it(`re-formats ${input} as ${output}`, () => {
      const type = T.struct({ key: 'created', type: T.time, omitempty: true });
      const value = goUnmarshal(encode({ created: input }), type);
      expect(text(goMarshal(value, type))).to.equal(`{"created":"${output}"}`);
    });
  }
  for (const bad of ['2023-02-29T00:00:00Z', '2020-01-01 00:00:00Z', '2020-01-01T00:00:00', '2020-1-01T00:00:00Z', '2020-01-01T00:00:00.Z']) {
    it(`refuses the time ${bad}`, () => {
      expectError(() => goUnmarshal(encode({ t: bad }), T.struct({ key: 't', type: T.time })), 'manifest-invalid', /RFC 3339/);
    });
  }
  const syntax = ['', ' ', '{"a":1,}', '[1,]', '01', '1.', '-', '+1', '"\t"', '"\\x"', '"\\u12"', 'nul', '{"a" 1}', '\ufeff{}', '{}{}'];
  for (const doc of syntax) {
    it(`refuses the invalid JSON ${JSON.stringify(doc)}`, () => expectError(() => parseGoJson(encode(doc)), 'manifest-invalid', /invalid JSON/));
  }
  it('replaces invalid UTF-8 byte by byte and unpaired surrogates, as Go does', () => {
    const bytes = new Uint8Array([0x22, 0xe2, 0x82, 0x41, 0xed, 0xa0, 0x80, 0x5c, 0x75, 0x44, 0x38, 0x30, 0x30, 0x22]);
    expect(parseGoJson(bytes)).to.deep.equal(new EscapedString('\ufffd\ufffdA\ufffd\ufffd\ufffd\ufffd'));
  });
  it('sorts map keys by UTF-8 bytes, not UTF-16 units', () => {
    const type = T.map(T.string);
    expect(text(goMarshal(goUnmarshal(encode({ '😀': '1', ｶ: '2', a: '3' }), type), type))).to.equal('{"a":"3","ｶ":"2","😀":"1"}');
  });
});
