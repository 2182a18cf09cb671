import { expect } from 'chai';
import { isProxyError } from '../../src/domain/errors.js';
import { guessManifestMediaType, normalizeManifestMediaType, parseManifest } from '../../src/domain/manifest.js';
import { MediaType as M } from '../../src/domain/media-types.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const layer = { mediaType: M.ociLayerGzip, digest: d('1'), size: 10 };
const ociManifest = { schemaVersion: 2, mediaType: M.ociManifest, config: { mediaType: M.ociConfig, digest: d('c'), size: 2 }, layers: [layer] };
const schema2 = {
  schemaVersion: 2,
  mediaType: M.dockerSchema2,
  config: { mediaType: M.dockerConfig, digest: d('c'), size: 2 },
  layers: [{ mediaType: M.dockerLayerGzip, digest: d('1'), size: 10 }],
};
const ociIndex = {
  schemaVersion: 2,
  mediaType: M.ociIndex,
  manifests: [{ mediaType: M.ociManifest, digest: d('a'), size: 5, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }],
};
const dockerList = {
  schemaVersion: 2,
  mediaType: M.dockerList,
  manifests: [{ mediaType: M.dockerSchema2, digest: d('a'), size: 5, platform: { architecture: 'amd64', os: 'linux' } }],
};
const schema1 = { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [{ blobSum: d('1') }], history: [{ v1Compatibility: '{}' }], signatures: [{}] };

describe('normalizeManifestMediaType', () => {
  const table: [string, string][] = [
    ['', M.dockerSchema1Signed],
    ['application/json', M.dockerSchema1Signed],
    ['application/json; charset=utf-8', M.dockerSchema1Signed],
    ['text/html', M.dockerSchema1Signed],
    [M.ociManifest, M.ociManifest],
    [`${M.ociManifest}; charset=utf-8`, M.ociManifest],
    [`${M.ociManifest};charset="utf-8";`, M.ociManifest],
    [`  ${M.dockerSchema2}  `, M.dockerSchema2],
    ['Application/VND.OCI.Image.Index.v1+JSON', M.ociIndex],
    [M.dockerList, M.dockerList],
    [M.dockerSchema1, M.dockerSchema1],
    [M.dockerSchema1Signed, M.dockerSchema1Signed],
    // Go's mime.ParseMediaType fails on these, and containers/image then has no type at all.
    [`${M.ociManifest}; charset`, M.dockerSchema1Signed],
    [`${M.ociManifest}; a=1; A=2`, M.dockerSchema1Signed],
    [`${M.ociManifest} x`, M.dockerSchema1Signed],
    [M.ociConfig, M.dockerSchema1Signed],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${expected}`, () => expect(normalizeManifestMediaType(input)).to.equal(expected));
  }
});

describe('guessManifestMediaType', () => {
  const { mediaType: _m, ...ociWithoutType } = ociManifest;
  const { mediaType: _i, ...indexWithoutType } = ociIndex;
  const { mediaType: _s, ...schema2WithoutType } = schema2;
  const table: [string, unknown, string][] = [
    ['an explicit OCI manifest type', ociManifest, M.ociManifest],
    ['an explicit docker list type', dockerList, M.dockerList],
    ['an OCI config without mediaType', ociWithoutType, M.ociManifest],
    ['a docker config without mediaType', schema2WithoutType, M.dockerSchema2],
    ['manifests without mediaType', indexWithoutType, M.ociIndex],
    ['an artifact config and no manifests', { schemaVersion: 2, config: { mediaType: 'application/x-artifact' } }, M.ociManifest],
    ['signed schema1', schema1, M.dockerSchema1Signed],
    ['unsigned schema1', { ...schema1, signatures: undefined }, M.dockerSchema1],
    ['an unknown explicit type', { schemaVersion: 3, mediaType: 'application/x' }, ''],
    ['a type error', { schemaVersion: '2' }, ''],
    ['not JSON', '<html>', ''],
    ['case-insensitive keys', { SchemaVersion: 2, Config: { MediaType: M.dockerConfig } }, M.dockerSchema2],
  ];
  for (const [why, doc, expected] of table) {
    it(`${why} → ${JSON.stringify(expected)}`, () => expect(guessManifestMediaType(bytes(doc))).to.equal(expected));
  }
});

describe('parseManifest', () => {
  it('parses an OCI manifest, keeping urls and annotations', () => {
    const doc = { ...ociManifest, layers: [{ ...layer, urls: ['https://x/y'], annotations: { a: 'b' } }] };
    const parsed = parseManifest(bytes(doc), M.ociManifest);
    expect(parsed).to.deep.equal({
      kind: 'oci-manifest',
      mediaType: M.ociManifest,
      config: { mediaType: M.ociConfig, digest: d('c'), size: 2 },
      layers: [{ ...layer, urls: ['https://x/y'], annotations: { a: 'b' } }],
    });
  });
  it('parses docker schema2, decoding keys case-insensitively like Go', () => {
    const text = JSON.stringify(schema2).replace('"layers"', '"Layers"').replace('"config"', '"CONFIG"');
    const parsed = parseManifest(bytes(text), `${M.dockerSchema2}; charset=utf-8`);
    expect(parsed.kind).to.equal('docker-schema2');
    expect(parsed.kind === 'docker-schema2' && parsed.layers[0]?.digest).to.equal(d('1'));
  });
  it('parses an OCI index, with and without platforms', () => {
    const doc = { ...ociIndex, manifests: [...ociIndex.manifests, { mediaType: M.ociManifest, digest: d('b'), size: 1, annotations: { k: 'v' } }] };
    const parsed = parseManifest(bytes(doc), M.ociIndex);
    expect(parsed).to.deep.equal({
      kind: 'oci-index',
      mediaType: M.ociIndex,
      manifests: [
        { mediaType: M.ociManifest, digest: d('a'), size: 5, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: M.ociManifest, digest: d('b'), size: 1, annotations: { k: 'v' } },
      ],
    });
  });
  for (const [name, list, kind] of [
    ['an OCI index', ociIndex, M.ociIndex],
    ['a docker list', dockerList, M.dockerList],
  ] as const) {
    it(`parses ${name} whose entries have no mediaType, as containers/image does: the instance's own type decides`, () => {
      const { mediaType: _entryType, ...untyped } = list.manifests[0]!;
      const parsed = parseManifest(bytes({ ...list, manifests: [untyped] }), kind);
      expect(parsed.kind === 'oci-index' || parsed.kind === 'docker-list' ? parsed.manifests.map((m) => [m.mediaType, m.digest]) : []).to.deep.equal([
        ['', d('a')],
      ]);
    });
  }
  it('parses a docker list; an entry without platform gets the empty one Go gives it', () => {
    const doc = { ...dockerList, manifests: [...dockerList.manifests, { mediaType: M.dockerSchema2, digest: d('b'), size: 1 }] };
    const parsed = parseManifest(bytes(doc), M.dockerList);
    expect(parsed.kind === 'docker-list' && parsed.manifests.map((m) => m.platform)).to.deep.equal([
      { architecture: 'amd64', os: 'linux' },
      { architecture: '', os: '' },
    ]);
  });
  it('recognises schema1 without converting it', () => {
    expect(parseManifest(bytes(schema1), M.dockerSchema1Signed)).to.deep.equal({ kind: 'docker-schema1', mediaType: M.dockerSchema1Signed });
  });

  const invalid: [string, unknown, string, RegExp][] = [
    ['not JSON', '{"schemaVersion":2,', M.ociManifest, /invalid JSON/],
    ['trailing garbage', `${JSON.stringify(ociManifest)}x`, M.ociManifest, /invalid JSON/],
    ['an OCI manifest with manifests', { ...ociManifest, manifests: [] }, M.ociManifest, /ambiguous.*manifests/],
    ['an OCI manifest with fsLayers and history', { ...ociManifest, fsLayers: [], history: [] }, M.ociManifest, /ambiguous.*fsLayers, history/],
    ['an OCI manifest with "Manifests" (Go folds case)', { ...ociManifest, Manifests: [] }, M.ociManifest, /ambiguous.*manifests/],
    ['an index with layers', { ...ociIndex, layers: [] }, M.ociIndex, /ambiguous.*layers/],
    ['a docker list with config', { ...dockerList, config: {} }, M.dockerList, /ambiguous.*config/],
    ['schemaVersion 1 declared as OCI', { ...ociManifest, schemaVersion: 1 }, M.ociManifest, /schemaVersion is 1/],
    ['a mediaType field contradicting the declared type', { ...ociManifest, mediaType: M.dockerSchema2 }, M.ociManifest, /mediaType field says/],
    ['an index whose mediaType says manifest', { ...ociIndex, mediaType: M.ociManifest }, M.ociIndex, /mediaType field says/],
    ['schema2 without mediaType', { ...schema2, mediaType: undefined }, M.dockerSchema2, /mediaType field is missing/],
    ['no config', { ...ociManifest, config: undefined }, M.ociManifest, /config is missing/],
    ['no layers', { ...ociManifest, layers: undefined }, M.ociManifest, /layers is missing/],
    ['layers that are not an array', { ...ociManifest, layers: {} }, M.ociManifest, /layers: expected an array/],
    ['no manifests', { ...ociIndex, manifests: null }, M.ociIndex, /manifests is missing/],
    ['an upper-case digest', { ...ociManifest, layers: [{ ...layer, digest: `sha256:${'A'.repeat(64)}` }] }, M.ociManifest, /layers\[0\] has invalid digest/],
    ['a short digest', { ...ociManifest, config: { ...ociManifest.config, digest: 'sha256:abc' } }, M.ociManifest, /config has invalid digest/],
    ['a missing digest', { ...ociIndex, manifests: [{ mediaType: M.ociManifest, size: 1 }] }, M.ociIndex, /manifests\[0\] has invalid digest ""/],
    ['a negative size', { ...ociManifest, layers: [{ ...layer, size: -1 }] }, M.ociManifest, /negative size/],
    ['a fractional size', { ...ociManifest, layers: [{ ...layer, size: 1.5 }] }, M.ociManifest, /layers\[0\]\.size: expected an integer/],
    ['a size as a string', { ...ociManifest, layers: [{ ...layer, size: '10' }] }, M.ociManifest, /expected an integer, found string/],
    ['a layer without mediaType', { ...ociManifest, layers: [{ digest: d('1'), size: 1 }] }, M.ociManifest, /layers\[0\] has no mediaType/],
    [
      'a schema2 layer of an unknown type',
      { ...schema2, layers: [{ ...layer, mediaType: 'application/x-foo' }] },
      M.dockerSchema2,
      /unsupported docker v2s2 media type "application\/x-foo"/,
    ],
    ['schema2 with an OCI layer type', { ...schema2, layers: [layer] }, M.dockerSchema2, /unsupported docker v2s2 media type/],
    // As in containers/image: no Content-Type (or application/json) means schema1, and a schema2 body then fails.
    [
      'a schema2 body without Content-Type',
      schema2,
      '',
      /schemaVersion is 2, not 1 \(the document looks like application\/vnd\.docker\.distribution\.manifest\.v2\+json/,
    ],
    ['a schema2 body as application/json', schema2, 'application/json', /v1\+prettyjws manifest: schemaVersion is 2/],
    ['schema1 with fsLayers and history of different lengths', { ...schema1, history: [] }, M.dockerSchema1Signed, /same, non-zero length/],
    ['an HTML error page', '<html></html>', 'text/html', /invalid JSON/],
  ];
  for (const [why, doc, mediaType, message] of invalid) {
    it(`rejects ${why}`, () => {
      try {
        parseManifest(bytes(doc), mediaType);
      } catch (err) {
        expect(isProxyError(err, 'manifest-invalid'), String(err)).to.equal(true);
        expect((err as Error).message).to.match(message);
        return;
      }
      expect.fail('parsed');
    });
  }
});
