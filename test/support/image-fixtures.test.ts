import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { exampleImage, writeExampleImage } from './example-image.js';
import { type FixtureArtifact, type FixtureImage, type FixtureLayer, standardFixtures, tarArchive, ZSTD_ANNOTATION } from './image-fixtures.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/image', import.meta.url));

function uncompressed(layer: FixtureLayer): Uint8Array {
  switch (layer.compression) {
    case 'none':
      return layer.bytes;
    case 'gzip':
      return gunzipSync(layer.bytes);
    case 'zstd':
      return zstdDecompressSync(layer.bytes);
  }
}

function allImages(): [string, FixtureImage][] {
  const images: [string, FixtureImage][] = [];
  for (const [name, artifact] of Object.entries<FixtureArtifact>(standardFixtures())) {
    if (artifact.kind === 'image') images.push([name, artifact]);
    else artifact.instances.forEach((image, i) => images.push([`${name}[${i}]`, image]));
  }
  return images;
}

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(dir, path), await readFile(path));
    }
  }
  return files;
}

describe('image fixtures', function () {
  describe('every standard image is consistent', function () {
    for (const [name, image] of allImages()) {
      it(`${name}: manifest names its config and layers, config lists the diff_ids`, function () {
        const manifest = JSON.parse(Buffer.from(image.manifest.bytes).toString()) as {
          config: { digest: string; size: number };
          layers: { digest: string; size: number; mediaType: string }[];
        };
        expect(manifest.config).to.include({ digest: image.config.digest, size: image.config.bytes.length });
        expect(manifest.layers.map((layer) => [layer.digest, layer.size, layer.mediaType])).to.deep.equal(
          image.layers.map((layer) => [layer.digest, layer.bytes.length, layer.mediaType]),
        );
        const config = JSON.parse(Buffer.from(image.config.bytes).toString()) as { rootfs: { diff_ids: string[] }; architecture: string };
        expect(config.rootfs.diff_ids).to.deep.equal(image.layers.map((layer) => digestOf(uncompressed(layer))));
        expect(config.architecture).to.equal(image.platform.architecture);
      });
    }
  });

  it('gives the zstd instance the same uncompressed layers as the gzip one, and the zstd annotation', function () {
    const { ociZstdIndex } = standardFixtures();
    const [gzip, zstd] = ociZstdIndex.instances;
    expect(zstd!.layers.map((layer) => layer.compression)).to.deep.equal(['zstd', 'zstd']);
    expect(zstd!.layers.map((layer) => layer.diffId)).to.deep.equal(gzip!.layers.map((layer) => layer.diffId));
    const index = JSON.parse(Buffer.from(ociZstdIndex.manifest.bytes).toString()) as { manifests: { annotations?: Record<string, string> }[] };
    expect(index.manifests.map((entry) => entry.annotations?.[ZSTD_ANNOTATION])).to.deep.equal([undefined, 'true']);
  });

  it('writes tar archives that tar itself lists and extracts', function () {
    const archive = tarArchive([
      { path: 'b/' },
      { path: `b/${'d'.repeat(60)}/` },
      { path: `b/${'d'.repeat(60)}/${'e'.repeat(50)}.txt`, content: 'long\n' },
      { path: 'a.txt', content: 'first\n', mode: 0o600 },
    ]);
    const listing = execFileSync('tar', ['-tvf', '-'], { input: archive }).toString();
    expect(
      listing
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).slice(-1)[0]),
    ).to.deep.equal(['a.txt', 'b/', `b/${'d'.repeat(60)}/`, `b/${'d'.repeat(60)}/${'e'.repeat(50)}.txt`]);
    expect(listing).to.match(/^-rw------- 0\/0\s+6 1970-01-01 00:00 a\.txt$/m);
    expect(execFileSync('tar', ['-xOf', '-', 'a.txt'], { input: archive }).toString()).to.equal('first\n');
  });

  it('builds the example image identically every time', function () {
    expect(exampleImage().manifest.digest).to.equal(exampleImage().manifest.digest);
  });

  it('matches the committed examples/image byte for byte (regenerate with build-example-image.js)', async function () {
    const fresh = await mkdtemp(join(tmpdir(), 'example-image-'));
    try {
      await writeExampleImage(fresh);
      const expected = await filesUnder(fresh);
      const committed = await filesUnder(EXAMPLE_DIR);
      expect([...committed.keys()].sort()).to.deep.equal([...expected.keys()].sort());
      for (const [path, bytes] of expected) expect(committed.get(path)?.equals(bytes), path).to.equal(true);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('gives the example image amd64 and arm64/v8 instances, each with a motd naming its platform', function () {
    const image = exampleImage();
    expect(image.instances.map((instance) => instance.platform)).to.deep.equal([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    for (const instance of image.instances) {
      const motd = execFileSync('tar', ['-xOzf', '-', 'etc/motd'], { input: instance.layers[0]!.bytes }).toString();
      expect(motd).to.contain(`example image (linux/${instance.platform.architecture}`);
    }
  });
});
