/**
 * Properties over the files of local images: tar archives (plain, gzip and multi-frame zstd) as
 * the archive transports index and read them, docker-archive's manifest.json and configs, and an
 * OCI layout's oci-layout, index.json and manifests. Each returns a value or throws a ProxyError.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { configDiffIds, parseTarManifest } from '../../src/adapters/archive/docker-archive-manifest.js';
import { TarIndex } from '../../src/adapters/archive/tar-index.js';
import { parseJsonFile } from '../../src/adapters/oci-layout/local-files.js';
import { guessedMediaType } from '../../src/adapters/oci-layout/manifest-media-type.js';
import { checkLayoutVersion, parseLayoutIndex } from '../../src/adapters/oci-layout/oci-index.js';
import { artifactManifests, makeImage, makeLayer, makeList, PLATFORMS, tarArchive } from '../support/image-fixtures.js';
import { fuzz, fuzzAsync, fuzzTimeout } from './fuzz-support.js';
import { hostileBytes, hostileJsonText, mutatedBytes } from './generators.js';

const encoder = new TextEncoder();
const layer = makeLayer([{ path: 'etc/hostname', content: 'fuzz\n' }], { format: 'oci', compression: 'gzip' });
const list = makeList('oci', [{ image: makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [layer] }) }]);
const INDEX = JSON.parse(new TextDecoder().decode(list.manifest.bytes)) as unknown;
const DIGEST = `sha256:${'c'.repeat(64)}`;
const TAR_MANIFEST = [{ Config: `${'d'.repeat(64)}.json`, RepoTags: ['quay.io/ns/app:1', 'app:latest'], Layers: [`${'e'.repeat(64)}/layer.tar`] }];
const CONFIG = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [DIGEST] } };

const tarFiles = tarArchive([
  { path: 'manifest.json', content: JSON.stringify(TAR_MANIFEST) },
  { path: 'repositories', content: '{}' },
  { path: `${'e'.repeat(64)}/`, content: undefined },
  { path: `${'e'.repeat(64)}/layer.tar`, content: tarArchive([{ path: 'a', content: 'a' }]) },
  { path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
  { path: 'index.json', content: JSON.stringify(INDEX) },
]);
// A zstd archive of two frames with a skippable frame between, as parallel compressors write them.
const SKIPPABLE = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
const TARS = [
  tarFiles,
  new Uint8Array(gzipSync(tarFiles)),
  new Uint8Array(Buffer.concat([zstdCompressSync(tarFiles.subarray(0, 1000)), SKIPPABLE, zstdCompressSync(tarFiles.subarray(1000))])),
];

describe('fuzz: archives and layouts', function () {
  this.timeout(fuzzTimeout());
  let work: string;
  let counter = 0;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'fuzz-archives-'));
  });
  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('tar archives: indexed, then manifest.json found and read', async () => {
    // Each case writes a file and walks it, so this property runs a third as many cases.
    await fuzzAsync(
      mutatedBytes(TARS),
      async (bytes) => {
        const path = join(work, `archive-${counter++}.tar`);
        await writeFile(path, bytes);
        try {
          const index = await TarIndex.build(path);
          for (const name of ['manifest.json', 'index.json', `${'e'.repeat(64)}/layer.tar`]) {
            const entry = index.find(name);
            if (entry !== undefined) await index.read(entry, 1024 * 1024);
          }
        } finally {
          await rm(path, { force: true });
        }
      },
      1 / 3,
    );
  });
  it('docker-archive manifest.json', () => {
    fuzz(hostileBytes(hostileJsonText([TAR_MANIFEST])), (bytes) => parseTarManifest(parseJsonFile(bytes, 'manifest.json'), 'manifest.json'));
  });
  it('docker-archive image configs, for their diff IDs', () => {
    fuzz(hostileBytes(hostileJsonText([CONFIG])), (bytes) => configDiffIds(parseJsonFile(bytes, 'config.json'), 'config.json'));
  });
  it('OCI layout oci-layout files', () => {
    fuzz(hostileBytes(hostileJsonText([{ imageLayoutVersion: '1.0.0' }])), (bytes) => checkLayoutVersion(parseJsonFile(bytes, 'oci-layout'), 'oci-layout'));
  });
  it('OCI layout index.json', () => {
    fuzz(hostileBytes(hostileJsonText([INDEX])), (bytes) => parseLayoutIndex(parseJsonFile(bytes, 'index.json'), 'index.json'));
  });
  it('manifests in a layout, for their guessed media type', () => {
    const manifests = artifactManifests(list).map((blob) => JSON.parse(new TextDecoder().decode(blob.bytes)) as unknown);
    fuzz(hostileBytes(hostileJsonText(manifests)), (bytes) => guessedMediaType(bytes, 'blobs/sha256/x'));
  });
  it('encodes the examples it mutates', () => {
    // Guards the generators: a mutation of nothing would test nothing.
    fc.assert(
      fc.property(mutatedBytes(TARS), (bytes) => bytes.length <= TARS[0]!.length + 6 * 16),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(hostileJsonText([INDEX]), (text) => encoder.encode(text).length > 0 || text === ''),
      { numRuns: 50 },
    );
  });
});
