import { gzipSync, zstdCompressSync } from 'node:zlib';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import {
  type DetectedCompression,
  describeLayers,
  detectCompression,
  layerCompression,
  type LayerCompression,
  type LayerInfo,
} from '../../src/domain/layers.js';
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

  describe('detectCompression (containers/image pkg/compression magic numbers)', () => {
    const table: readonly [string, readonly number[], DetectedCompression][] = [
      ['gzip', [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00], 'gzip'],
      ['gzip with only its three magic bytes', [0x1f, 0x8b, 0x08], 'gzip'],
      ['gzip magic with another method byte', [0x1f, 0x8b, 0x07, 0x00], 'none'],
      ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00], 'zstd'],
      ['bzip2', [0x42, 0x5a, 0x68, 0x39], 'bzip2'],
      ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
      ['xz cut short', [0xfd, 0x37, 0x7a, 0x58, 0x5a], 'none'],
      ['a tar header', [...Buffer.from('etc/\0\0')], 'none'],
      ['nothing', [], 'none'],
    ];
    for (const [name, head, expected] of table) {
      it(`${name} → ${expected}`, () => {
        expect(detectCompression(Uint8Array.from(head))).to.equal(expected);
      });
    }

    it('reads the compression of real gzip and zstd output', () => {
      const tar = new TextEncoder().encode('a tar would be here');
      expect([detectCompression(gzipSync(tar)), detectCompression(zstdCompressSync(tar)), detectCompression(tar)]).to.deep.equal(['gzip', 'zstd', 'none']);
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

    it('takes diff_ids written with JSON escapes as Go does: unescaped ([]digest.Digest is a string type)', () => {
      // "sha256:" as \u0073ha256: and the first hex digit escaped too; JSON.stringify would never write these.
      const escaped = diffIds.map((id) => `"\\u0073ha256:\\u00${id.charCodeAt(7).toString(16)}${id.slice(8)}"`);
      const config = new TextEncoder().encode(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[${escaped.join(',')}]}}`);
      const described = describeLayers(layers, config);
      expect(described.map((info) => info.diffID)).to.deep.equal(diffIds);
      expect(described.map((info) => info.diffIDError)).to.deep.equal([undefined, undefined, undefined]);
    });

    it('marks zstd:chunked layers, under the annotation name of today and of older writers, and no other', () => {
      const annotated = (key: string): Descriptor => ({ ...layers[1]!, annotations: { [key]: digestFor('toc'), 'org.example': 'x' } });
      const described = describeLayers(
        [
          annotated('io.github.containers.zstd-chunked.manifest-checksum'),
          annotated('io.containers.zstd-chunked.manifest-checksum'),
          annotated('io.github.containers.zstd-chunked.manifest-position'),
          layers[1]!,
        ],
        configWith([diffIds[1], diffIds[1], diffIds[1], diffIds[1]]),
      );
      expect(described.map((info) => info.zstdChunked)).to.deep.equal([true, true, undefined, undefined]);
      expect(Object.keys(described[3]!), 'nothing added to other layers').to.not.include('zstdChunked');
    });

    it('an image without layers has none to describe', () => {
      expect(describeLayers([], configWith([]))).to.deep.equal([]);
    });

    const diffIDsOf = (described: readonly LayerInfo[]) => described.map((info) => info.diffID);
    const errorsOf = (described: readonly LayerInfo[]) => described.map((info) => info.diffIDError);

    it('fewer diff_ids than layers: the layers beyond them have a diffIDError naming both counts, the others keep theirs', () => {
      const described = describeLayers(layers, configWith(diffIds.slice(0, 2)));
      expect(diffIDsOf(described)).to.deep.equal([diffIds[0], diffIds[1], undefined]);
      expect(errorsOf(described).slice(0, 2)).to.deep.equal([undefined, undefined]);
      expect(described[2]!.diffIDError).to.contain('2 rootfs.diff_ids for 3 layers').and.to.contain('layer 2');
    });

    it('more diff_ids than layers: each layer takes the one at its position (containers/image pairs by index)', () => {
      const described = describeLayers(layers, configWith([...diffIds, digestFor('tar extra')]));
      expect(diffIDsOf(described)).to.deep.equal(diffIds);
      expect(errorsOf(described)).to.deep.equal([undefined, undefined, undefined]);
    });

    it('diff_ids: [] for three layers: every layer has a diffIDError, and is still described', () => {
      const described = describeLayers(layers, configWith([]));
      expect(described.map((info) => [info.digest, info.compression])).to.deep.equal(layers.map((l) => [l.digest, layerCompression(l.mediaType)]));
      expect(errorsOf(described).every((error) => error?.includes('0 rootfs.diff_ids for 3 layers'))).to.equal(true);
    });

    const badEntries: readonly [string, unknown, string][] = [
      ['null', null, 'rootfs.diff_ids[1] is null'],
      ['an empty string (what converting a null gives)', '', 'rootfs.diff_ids[1] is empty'],
      ['a non-digest string', 'not-a-digest', 'rootfs.diff_ids[1] is not a digest'],
      ['an upper-case digest', diffIds[1]!.toUpperCase(), 'rootfs.diff_ids[1] is not a digest'],
      ['a number', 7, 'rootfs.diff_ids[1] is not a digest'],
    ];
    for (const [name, entry, message] of badEntries) {
      it(`a diff_ids entry that is ${name}: only that layer has a diffIDError`, () => {
        const described = describeLayers(layers, configWith([diffIds[0], entry, diffIds[2]]));
        expect(diffIDsOf(described)).to.deep.equal([diffIds[0], undefined, diffIds[2]]);
        expect(errorsOf(described)).to.deep.equal([undefined, `the config's ${message}`, undefined]);
      });
    }

    it('rootfs.diff_ids that is not a list: every layer has a diffIDError saying why', () => {
      const described = describeLayers(layers, configWith('sha256:abc'));
      expect(diffIDsOf(described)).to.deep.equal([undefined, undefined, undefined]);
      for (const error of errorsOf(described)) expect(error).to.match(/^the config's rootfs.diff_ids cannot be read: .*diff_ids/);
    });

    it('keys are matched as Go matches them: RootFS and Diff_IDs name the same fields', () => {
      const config = json({ RootFS: { type: 'layers', Diff_IDs: diffIds } });
      expect(diffIDsOf(describeLayers(layers, config))).to.deep.equal(diffIds);
    });

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
        expect(described[0]!.diffIDError).to.equal(undefined);
        expect(described[0]!.compression).to.equal('gzip');
      });
    }
  });
});
