import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { claimsManifest, parseSignaturePayload } from '../../../src/domain/signatures/payload.js';
import { parseSignatureBlob } from '../../../src/domain/signatures/signature.js';
import { parseStrictJson } from '../../../src/domain/signatures/strict-json.js';

const D = `sha256:${'b'.repeat(64)}`;
const atomic = (over: object = {}): object => ({
  critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': D }, identity: { 'docker-reference': 'quay.io/a/b:1' } },
  optional: { creator: 'test', timestamp: 1700000000 },
  ...over,
});
const bytes = (value: object | string): Uint8Array => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('signature payloads (containers-signature(5))', () => {
  it('reads a simple-signing payload', () => {
    expect(parseSignaturePayload(bytes(atomic()), 'simple-signing')).to.deep.equal({
      manifestDigest: D,
      dockerReference: 'quay.io/a/b:1',
      creator: 'test',
      timestamp: 1700000000,
    });
  });
  it('reads a cosign payload with "optional": null', () => {
    const cosign = {
      critical: { identity: { 'docker-reference': 'quay.io/a/b' }, image: { 'docker-manifest-digest': D }, type: 'cosign container image signature' },
      optional: null,
    };
    expect(parseSignaturePayload(bytes(cosign), 'cosign').dockerReference).to.equal('quay.io/a/b');
  });
  const critical = atomic() as { critical: Record<string, unknown> };
  const bad: [string, Uint8Array, 'simple-signing' | 'cosign'][] = [
    ['not JSON', bytes('{'), 'simple-signing'],
    [
      'a duplicate key',
      bytes(`{"critical":${JSON.stringify(critical.critical)},"critical":${JSON.stringify(critical.critical)},"optional":{}}`),
      'simple-signing',
    ],
    ['an extra top-level key', bytes(atomic({ extra: 1 })), 'simple-signing'],
    ['no optional', bytes({ critical: critical.critical }), 'simple-signing'],
    ['optional null in simple signing', bytes(atomic({ optional: null })), 'simple-signing'],
    ['a fractional timestamp', bytes(atomic({ optional: { timestamp: 1.5 } })), 'simple-signing'],
    ['a wrong type', bytes(atomic({ critical: { ...critical.critical, type: 'something else' } })), 'simple-signing'],
    ['the atomic type in a cosign payload', bytes(atomic({ optional: null })), 'cosign'],
    ['an extra key in critical', bytes(atomic({ critical: { ...critical.critical, extra: true } })), 'simple-signing'],
    ['an extra key in image', bytes(atomic({ critical: { ...critical.critical, image: { 'docker-manifest-digest': D, x: 1 } } })), 'simple-signing'],
    ['a missing identity', bytes(atomic({ critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': D } } })), 'simple-signing'],
    ['a numeric reference', bytes(atomic({ critical: { ...critical.critical, identity: { 'docker-reference': 5 } } })), 'simple-signing'],
    // Found by the property tests: quoting this type for the message overflowed the stack.
    [
      'a type nested 100000 arrays deep',
      bytes(JSON.stringify(atomic({ critical: { ...critical.critical, type: 'DEEP' } })).replace('"DEEP"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`)),
      'simple-signing',
    ],
  ];
  for (const [why, payload, kind] of bad) {
    it(`rejects ${why}`, () => {
      expect(() => parseSignaturePayload(payload, kind))
        .to.throw()
        .that.satisfies((err: unknown) => isProxyError(err, 'policy-rejected'));
    });
  }
  it('names a type that is not a string without printing it', () => {
    expect(() => parseSignaturePayload(bytes(atomic({ critical: { ...critical.critical, type: [1] } })), 'simple-signing')).to.throw(
      /critical\.type must be a string/,
    );
  });
  it("matches the manifest digest in the signature's algorithm", () => {
    const manifest = bytes('{"schemaVersion":2}');
    const claims = (digest: string) => ({ manifestDigest: digest, dockerReference: 'x', creator: undefined, timestamp: undefined });
    expect(claimsManifest(claims(digestOf(manifest)), manifest)).to.equal(true);
    expect(claimsManifest(claims(digestOf(manifest, 'sha512')), manifest)).to.equal(true);
    expect(claimsManifest(claims(D), manifest)).to.equal(false);
    expect(claimsManifest(claims('sha256:nothex'), manifest)).to.equal(false);
  });
});

describe('signature blob formats', () => {
  const cases: [string, Uint8Array, string | undefined][] = [
    ['a bare OpenPGP message (0xa3, compressed)', Uint8Array.from([0xa3, 1, 2]), 'simple-signing'],
    ['a bare OpenPGP message (0x89, signature)', Uint8Array.from([0x89, 1, 2]), 'simple-signing'],
    ['a prefixed simple-signing blob', Buffer.concat([Buffer.from([0]), Buffer.from('simple-signing\n'), Buffer.from([0xa3, 1])]), 'simple-signing'],
    [
      'a sigstore-json blob',
      Buffer.concat([Buffer.from([0]), Buffer.from('sigstore-json\n{"mimeType":"m","payload":"YWJj","annotations":{"k":"v"}}')]),
      'sigstore',
    ],
    ['an empty blob', new Uint8Array(), undefined],
    ['an unknown first byte', Uint8Array.from([0x7b, 0x7d]), undefined],
    ['an unknown format name', Buffer.concat([Buffer.from([0]), Buffer.from('x509\nabc')]), undefined],
    [
      'sigstore-json with a numeric annotation',
      Buffer.concat([Buffer.from([0]), Buffer.from('sigstore-json\n{"mimeType":"m","payload":"","annotations":{"k":1}}')]),
      undefined,
    ],
  ];
  for (const [why, blob, format] of cases) {
    it(`${why} → ${format ?? 'error'}`, () => {
      if (format === undefined) expect(() => parseSignatureBlob(blob, 'sig')).to.throw(/sig: /);
      else expect(parseSignatureBlob(blob, 'sig').format).to.equal(format);
    });
  }
  it('decodes the sigstore-json payload and annotations', () => {
    const parsed = parseSignatureBlob(cases[3]![1], 'sig');
    expect(parsed).to.deep.equal({ format: 'sigstore', mimeType: 'm', payload: Buffer.from('abc'), annotations: { k: 'v' } });
  });
});

describe('strict JSON', () => {
  const cases: [string, string, string | undefined][] = [
    ['nested duplicates', '{"a":{"b":1,"b":2}}', 'b'],
    ['escaped duplicates', '{"a":1,"\\u0061":2}', 'a'],
    ['the same key in sibling objects', '{"a":{"k":1},"b":{"k":2}}', undefined],
    ['keys inside strings', '{"a":"\\"a\\":","b":["a","a"]}', undefined],
    ['objects in arrays', '[{"k":1},{"k":1,"j":{"k":2}}]', undefined],
  ];
  for (const [why, text, duplicate] of cases) {
    it(`${why}: ${duplicate === undefined ? 'accepted' : `refuses "${duplicate}"`}`, () => {
      if (duplicate === undefined) expect(parseStrictJson(text, 'f', 'policy-invalid')).to.deep.equal(JSON.parse(text));
      else expect(() => parseStrictJson(text, 'f', 'policy-invalid')).to.throw(`f: duplicate key "${duplicate}"`);
    });
  }
});
