/**
 * zstd:chunked images as skopeo and podman write them, through the real CLI from `oci:`, `dir:`,
 * `oci-archive:` and a real registry. A zstd:chunked layer is many zstd frames (one per file
 * chunk) and skippable frames holding its table of contents; `zstd -dc` is the oracle for its
 * tar. skopeo 1.9.3 and podman 4.3.1 re-emit the tar ending right after its two zero blocks and
 * keep the original diff ID, so a layer made from a tar that ends there is consistent and served
 * verified, while one made from a tar padded beyond them (10,240 bytes, as GNU tar pads) no longer
 * matches its diff ID and is refused.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, type FixtureLayer, makeImage, ociBlobPath, PLATFORMS, tarArchive, writeOciLayout } from '../../support/image-fixtures.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { run } from '../../support/registry/processes.js';
import { skopeoRegistryFlags } from '../../support/registry/push.js';
import { startRegistry, type RunningRegistry } from '../../support/registry/registry-server.js';
import { withPrivateBlobCache } from '../../support/registry/skopeo.js';
import { type ProxyProcess } from '../../support/spawn-proxy.js';
import { FidelityBench, jsonOf, type LayerAnswer, type Manifest } from './fidelity-support.js';

const TIGHT = tarArchive([{ path: 'etc/' }, { path: 'etc/tight', content: 'ends right after its two zero blocks\n'.repeat(200) }]);
const PADDED = new Uint8Array(10_240);
PADDED.set(tarArchive([{ path: 'etc/' }, { path: 'etc/padded', content: 'padded to 10240 bytes\n'.repeat(200) }]));
const CHUNKED_ANNOTATION = 'io.containers.zstd-chunked.manifest-checksum';

const uncompressed = (tar: Uint8Array): FixtureLayer => ({ ...blobOf(MediaType.ociLayerTar, tar), diffId: digestOf(tar), compression: 'none' });

interface AnnotatedManifest extends Manifest {
  readonly layers: readonly (Manifest['layers'][number] & { readonly annotations?: Record<string, string> })[];
}

describe('fidelity: zstd:chunked layers written by skopeo and podman', function () {
  this.timeout(240_000);
  const bench = new FidelityBench();
  const source = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [uncompressed(TIGHT), uncompressed(PADDED)] });
  let registry: RunningRegistry;
  /** What skopeo wrote: the manifest bytes, and each layer's tar as `zstd -dc` reads it. */
  let written: { manifest: Buffer; parsed: AnnotatedManifest; tars: Map<Digest, Buffer> };

  before(async function () {
    requireRegistryTools(this);
    await bench.setUp();
    registry = await startRegistry({ kind: 'anonymous' });
    await writeOciLayout(bench.path('source'), [{ artifact: source, name: 'image' }]);
    await bench.skopeo('copy', '--quiet', '--dest-compress-format', 'zstd:chunked', `oci:${bench.path('source')}:image`, `oci:${bench.path('chunked')}:image`);
    written = await readLayout(bench.path('chunked'));
  });
  after(async () => {
    await registry?.stop();
    await bench.tearDown();
  });

  async function readLayout(layout: string): Promise<typeof written> {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: Digest }[] };
    const manifest = await readFile(ociBlobPath(layout, index.manifests[0]!.digest));
    const parsed = JSON.parse(manifest.toString()) as AnnotatedManifest;
    const tars = new Map<Digest, Buffer>();
    for (const layer of parsed.layers) {
      const out = join(bench.work, `${layer.digest.slice(7)}.tar`);
      await run('zstd', ['-q', '-d', '-f', ociBlobPath(layout, layer.digest), '-o', out]);
      tars.set(layer.digest, await readFile(out));
    }
    return { manifest, parsed, tars };
  }

  it('the fixture: skopeo wrote zstd:chunked layers; the tight tar comes back whole, the padded one shortened', function () {
    expect(written.parsed.layers.map((layer) => [layer.mediaType, layer.annotations?.[CHUNKED_ANNOTATION]?.startsWith('sha256:')])).to.deep.equal([
      [MediaType.ociLayerZstd, true],
      [MediaType.ociLayerZstd, true],
    ]);
    const [tight, padded] = written.parsed.layers.map((layer) => written.tars.get(layer.digest)!);
    expect(tight!.equals(Buffer.from(TIGHT))).to.equal(true);
    expect(padded!.length, 'the padding dropped').to.be.below(PADDED.length);
    expect(padded!.equals(Buffer.from(PADDED.subarray(0, padded!.length)))).to.equal(true);
  });

  /**
   * The manifest as written (annotations and all), both layers marked zstd:chunked, the tight one
   * served decompressed and verified, the padded one refused (last: a cut body ends the session).
   */
  async function expectServedAsWritten(
    proxy: ProxyProcess,
    expected: { manifest: Buffer; parsed: AnnotatedManifest; tars: Map<Digest, Buffer> } = written,
  ): Promise<void> {
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status, proxy.stderr()).to.equal(200);
    expect(manifest.body.toString(), 'the manifest as written, annotations kept').to.equal(expected.manifest.toString());
    const layers = jsonOf<LayerAnswer[]>(await proxy.request('GET', '/layers'));
    expect(layers.map((layer) => [layer.digest, layer.compression, layer.diffID, layer.zstdChunked])).to.deep.equal([
      [expected.parsed.layers[0]!.digest, 'zstd', digestOf(TIGHT), true],
      [expected.parsed.layers[1]!.digest, 'zstd', digestOf(PADDED), true],
    ]);

    const tight = await proxy.request('GET', `/blobs/${layers[0]!.digest}?decompress=true`);
    expect([tight.status, tight.complete], proxy.stderr()).to.deep.equal([200, true]);
    expect(tight.body.equals(expected.tars.get(layers[0]!.digest)!), 'what zstd -dc gives').to.equal(true);
    expect(digestOf(tight.body)).to.equal(digestOf(TIGHT));

    const padded = await proxy.request('GET', `/blobs/${layers[1]!.digest}?decompress=true`);
    expect(padded.complete && padded.status === 200, 'never a complete body').to.equal(false);
    expect(padded.body.length).to.be.below(expected.tars.get(layers[1]!.digest)!.length);
    expect(proxy.stderr()).to.contain(
      `digest-mismatch: uncompressed layer ${layers[1]!.digest} (diff ID ${digestOf(PADDED)}): content hashes to ${digestOf(expected.tars.get(layers[1]!.digest)!)}`,
    );
  }

  it('oci: as skopeo wrote it', async function () {
    await expectServedAsWritten(bench.proxy(`oci:${bench.path('chunked')}:image`));
  });

  it('dir: copied there by skopeo', async function () {
    await bench.skopeo('copy', '--quiet', `oci:${bench.path('chunked')}:image`, `dir:${bench.path('chunked.dir')}`);
    await expectServedAsWritten(bench.proxy(`dir:${bench.path('chunked.dir')}`));
  });

  it('oci-archive: copied there by skopeo', async function () {
    await bench.skopeo('copy', '--quiet', `oci:${bench.path('chunked')}:image`, `oci-archive:${bench.path('chunked.tar')}:image`);
    await expectServedAsWritten(bench.proxy(`oci-archive:${bench.path('chunked.tar')}:image`));
  });

  it('docker://: pushed by skopeo to a real registry', async function () {
    await bench.skopeo(
      'copy',
      '--quiet',
      ...skopeoRegistryFlags(registry, 'dest'),
      `oci:${bench.path('chunked')}:image`,
      `docker://${registry.host}/zstd/skopeo:v1`,
    );
    await expectServedAsWritten(bench.proxy('--tls-verify=false', `docker://${registry.host}/zstd/skopeo:v1`));
  });

  it('docker://: pushed by podman --compression-format zstd:chunked from its own store', async function () {
    const [root, runroot] = [bench.path('podman-root'), bench.path('podman-runroot')];
    // podman pull would name the image after the layout's (mixed-case) path: skopeo puts it in the store.
    await bench.skopeo('copy', '--quiet', `oci:${bench.path('source')}:image`, `containers-storage:[vfs@${root}+${runroot}]localhost/zstd/source:v1`);
    // podman, unlike skopeo, wants the environment's (empty) auth file to exist.
    await writeFile(bench.env!.env.REGISTRY_AUTH_FILE!, '{"auths":{}}');
    const podmanArgs = [
      '--root',
      root,
      '--runroot',
      runroot,
      '--storage-driver',
      'vfs',
      'push',
      '--quiet',
      '--tls-verify=false',
      '--signature-policy',
      bench.env!.policyPath,
    ];
    await withPrivateBlobCache(bench.env!, 'podman', [
      ...podmanArgs,
      '--compression-format',
      'zstd:chunked',
      'localhost/zstd/source:v1',
      `docker://${registry.host}/zstd/podman:v1`,
    ]);
    // The oracle reads back what podman pushed: skopeo copies it unchanged to a layout.
    await bench.skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/zstd/podman:v1`, `oci:${bench.path('podman-pushed')}:image`);
    const pushed = await readLayout(bench.path('podman-pushed'));
    expect(
      pushed.parsed.layers.map((layer) => layer.annotations?.[CHUNKED_ANNOTATION] !== undefined),
      'podman wrote zstd:chunked',
    ).to.deep.equal([true, true]);
    await expectServedAsWritten(bench.proxy('--tls-verify=false', `docker://${registry.host}/zstd/podman:v1`), pushed);
  });
});
