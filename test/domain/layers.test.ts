import { expect } from 'chai';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { describeLayers, layerCompression, type LayerCompression } from '../../src/domain/layers.js';
import { type Descriptor } from '../../src/domain/manifest.js';
import { MediaType } from '../../src/domain/media-types.js';

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const digestFor = (text: string): Digest => digestOf(new TextEncoder().encode(text));

function layer(mediaType: string, name: string, size = 100): Descriptor {
  return { mediaType, digest: digestFor(`compressed ${name}`), size };
}

function configWith(diffIds: unknown): Uint8Array {
  return json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } });
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('layers: compression and diff IDs', () => {
  describe('layerCompression', () => {
    const table: readonly [string, LayerCompression][] = [
      [MediaType.ociLayerTar, 'none'],
      [MediaType.ociLayerGzip, 'gzip'],
      [MediaType.ociLayerZstd, 'zstd'],
      [MediaType.ociForeignLayerTar, 'none'],
      [MediaType.ociForeignLayerGzip, 'gzip'],
      [MediaType.ociForeignLayerZstd, 'zstd'],
      [MediaType.dockerLayerTar, 'none'],
      [MediaType.dockerLayerGzip, 'gzip'],
      [MediaType.dockerLayerZstd, 'zstd'],
      [MediaType.dockerForeignLayerTar, 'none'],
      [MediaType.dockerForeignLayerGzip, 'gzip'],
      // Not a layer type the proxy knows: served as is, never decompressed.
      ['application/vnd.example.data+gzip', 'none'],
      ['', 'none'],
    ];
    for (const [mediaType, expected] of table) {
      it(`${mediaType || '(empty)'} → ${expected}`, () => {
        expect(layerCompression(mediaType)).to.equal(expected);
      });
    }

    it('covers every layer media type of the catalogue', () => {
      const layerTypes = Object.values(MediaType).filter((type) => /layer|rootfs/.test(type));
      expect(layerTypes.filter((type) => !table.some(([known]) => known === type))).to.deep.equal([]);
    });
  });

  describe('describeLayers', () => {
    const layers = [layer(MediaType.ociLayerGzip, 'base', 120), layer(MediaType.ociLayerZstd, 'app', 80), layer(MediaType.ociLayerTar, 'data', 3072)];
    const diffIds = [digestFor('tar base'), digestFor('tar app'), digestFor('tar data')];

    it('pairs each layer with its diff ID, in order, and states its compression', () => {
      expect(describeLayers(layers, configWith(diffIds))).to.deep.equal([
        { digest: layers[0]!.digest, size: 120, mediaType: MediaType.ociLayerGzip, compression: 'gzip', diffID: diffIds[0] },
        { digest: layers[1]!.digest, size: 80, mediaType: MediaType.ociLayerZstd, compression: 'zstd', diffID: diffIds[1] },
        { digest: layers[2]!.digest, size: 3072, mediaType: MediaType.ociLayerTar, compression: 'none', diffID: diffIds[2] },
      ]);
    });

    it('an image without layers has none to describe', () => {
      expect(describeLayers([], configWith([]))).to.deep.equal([]);
    });

    const mismatched: readonly [string, readonly Digest[]][] = [
      ['fewer diff_ids than layers', diffIds.slice(0, 2)],
      ['more diff_ids than layers', [...diffIds, digestFor('tar extra')]],
      ['no diff_ids for three layers', []],
    ];
    for (const [name, ids] of mismatched) {
      it(`${name} → manifest-invalid naming both counts`, () => {
        const err = thrownBy(() => describeLayers(layers, configWith(ids)));
        expect(isProxyError(err) && err.code).to.equal('manifest-invalid');
        expect((err as Error).message).to.contain(`${ids.length} diff_ids`).and.to.contain('3 layers');
      });
    }

    const malformed: readonly [string, unknown][] = [
      ['a string instead of a list', 'sha256:abc'],
      ['a non-digest entry', [diffIds[0], 'not-a-digest', diffIds[2]]],
      ['a number entry', [diffIds[0], 7, diffIds[2]]],
    ];
    for (const [name, value] of malformed) {
      it(`rootfs.diff_ids as ${name} → manifest-invalid`, () => {
        const err = thrownBy(() => describeLayers(layers, configWith(value)));
        expect(isProxyError(err) && err.code).to.equal('manifest-invalid');
      });
    }

    const withoutDiffIds: readonly [string, Uint8Array][] = [
      ['an artifact config that is not JSON', new TextEncoder().encode('plain artifact data')],
      ['an empty JSON config ({})', json({})],
      ['a config without rootfs', json({ mediaType: 'application/vnd.example.config', files: 3 })],
      ['a rootfs without diff_ids', json({ rootfs: { type: 'layers' } })],
      ['diff_ids set to null', json({ rootfs: { type: 'layers', diff_ids: null } })],
      ['a JSON null config', json(null)],
    ];
    for (const [name, config] of withoutDiffIds) {
      it(`${name} → layers described without a diff ID`, () => {
        const described = describeLayers(layers.slice(0, 1), config);
        expect(described).to.have.length(1);
        expect(described[0]!.diffID).to.equal(undefined);
        expect(described[0]!.compression).to.equal('gzip');
      });
    }
  });
});
