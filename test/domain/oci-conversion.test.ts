import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { MediaType } from '../../src/domain/media-types.js';
import { convertSchema2ToOci } from '../../src/domain/oci-conversion.js';

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
});
