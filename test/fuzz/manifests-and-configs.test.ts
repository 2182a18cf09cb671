/**
 * Properties over what registries and layouts serve: manifests and indexes (every declared type,
 * and guessed types), image configs through the Go-JSON decoder and OCI conversion, the layer
 * table's diff IDs, and signatures (stored blobs and their JSON payloads).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { digestOf } from '../../src/domain/digest.js';
import { describeLayers } from '../../src/domain/layers.js';
import { guessManifestMediaType, parseManifest } from '../../src/domain/manifest.js';
import { MediaType } from '../../src/domain/media-types.js';
import { convertSchema2ToOci } from '../../src/domain/oci-conversion.js';
import { parseSignaturePayload } from '../../src/domain/signatures/payload.js';
import { parseSignatureBlob } from '../../src/domain/signatures/signature.js';
import { makeImage, makeLayer, makeList, PLATFORMS } from '../support/image-fixtures.js';
import { fuzz, fuzzTimeout } from './fuzz-support.js';
import { hostileBytes, hostileJsonText } from './generators.js';

// Tests run from dist/test/fuzz; the fixtures stay in the source tree.
const CONVERSION = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'conversion');
const fixtureJson = (suffix: string): unknown[] =>
  readdirSync(CONVERSION, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith(suffix))
    .map((path) => JSON.parse(readFileSync(join(CONVERSION, path), 'utf8')) as unknown);
const parseBlob = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

const layer = (format: 'oci' | 'docker'): ReturnType<typeof makeLayer> =>
  makeLayer([{ path: 'a.txt', content: new TextEncoder().encode('a') }], { format, compression: 'gzip' });
const images = (['oci', 'docker'] as const).map((format) => makeImage({ format, platform: PLATFORMS.arm64, layers: [layer(format), layer(format)] }));
const lists = (['oci', 'docker'] as const).map((format) =>
  makeList(format, [
    { image: makeImage({ format, platform: PLATFORMS.amd64, layers: [layer(format)] }) },
    { image: makeImage({ format, platform: PLATFORMS.arm64, layers: [] }) },
  ]),
);
const SCHEMA1 = {
  schemaVersion: 1,
  name: 'x/y',
  tag: '1',
  architecture: 'amd64',
  fsLayers: [{ blobSum: `sha256:${'a'.repeat(64)}` }],
  history: [{ v1Compatibility: '{}' }],
  signatures: [{ header: {} }],
};
const MANIFESTS = [
  ...fixtureJson('-manifest.json'),
  ...images.map((image) => parseBlob(image.manifest.bytes)),
  ...lists.map((list) => parseBlob(list.manifest.bytes)),
  SCHEMA1,
];
const CONFIGS = [...fixtureJson('-config.json'), ...images.map((image) => parseBlob(image.config.bytes))];
const DECLARED = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerSchema2,
  MediaType.dockerList,
  MediaType.dockerSchema1Signed,
  'application/json',
  '',
];

const PAYLOAD = {
  critical: {
    type: 'atomic container signature',
    image: { 'docker-manifest-digest': `sha256:${'b'.repeat(64)}` },
    identity: { 'docker-reference': 'quay.io/ns/repo:1' },
  },
  optional: { creator: 'fuzz', timestamp: 1700000000 },
};
const SIGSTORE_BODY = {
  mimeType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  payload: Buffer.from(JSON.stringify(PAYLOAD)).toString('base64'),
  annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' },
};

/** A schema2 manifest for `config`, so that conversion gets as far as decoding it. */
function schema2For(config: Uint8Array): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerSchema2,
      config: { mediaType: MediaType.dockerConfig, size: config.length, digest: digestOf(config) },
      layers: [],
    }),
  );
}

describe('fuzz: manifests, configs and signatures', function () {
  this.timeout(fuzzTimeout());
  const manifests = hostileBytes(hostileJsonText(MANIFESTS));
  const configs = hostileBytes(hostileJsonText(CONFIGS));

  it('manifests and indexes, parsed as every declared type', () => {
    fuzz(fc.tuple(manifests, fc.constantFrom(...DECLARED)), ([bytes, declared]) => parseManifest(bytes, declared));
  });
  it('manifests without a declared type: guessed, then parsed as the guess', () => {
    fuzz(manifests, (bytes) => parseManifest(bytes, guessManifestMediaType(bytes)));
  });
  it('image configs through the Go-JSON decoder and the OCI conversion', () => {
    fuzz(configs, (config) => convertSchema2ToOci(schema2For(config), config));
  });
  it('image configs as the layer table reads their diff IDs', () => {
    const image = images[0]!;
    const parsed = parseManifest(image.manifest.bytes, MediaType.ociManifest);
    if (parsed.kind !== 'oci-manifest') throw new Error('the fixture is an OCI manifest');
    fuzz(configs, (config) => describeLayers(parsed.layers, config));
  });
  it('signature payloads, simple signing and cosign', () => {
    fuzz(
      fc.tuple(hostileBytes(hostileJsonText([PAYLOAD, { ...PAYLOAD, optional: null }])), fc.constantFrom('simple-signing' as const, 'cosign' as const)),
      ([payload, kind]) => parseSignaturePayload(payload, kind),
    );
  });
  it('stored signature blobs: format prefix and sigstore-json body', () => {
    const body = hostileJsonText([SIGSTORE_BODY]).map((text) => `\u0000sigstore-json\n${text}`);
    fuzz(hostileBytes(body), (blob) => parseSignatureBlob(blob, 'fuzzed signature'));
  });
});
