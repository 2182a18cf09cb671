/**
 * Images for the client tests: the end-to-end layout (`single`, `multi`, `large`) plus `zstd`,
 * an image whose layers are zstd, gzip and uncompressed, so decompression covers every kind,
 * and a copy of the layout with the large layer corrupted in its middle.
 */
import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ociBlobPath, makeImage, makeLayer, PLATFORMS, writeOciLayout, type FixtureImage } from '../support/image-fixtures.js';
import { type E2eImages, writeE2eImages } from '../e2e/e2e-images.js';

export interface ClientImages extends E2eImages {
  readonly mixed: FixtureImage;
  /** The layout with `mixed` tagged `mixed` as well. */
  readonly mixedLayout: string;
  /** A copy of `layout` whose `large` layer has one byte flipped. */
  readonly corruptLayout: string;
}

function mixedImage(): FixtureImage {
  const layer = (name: string, compression: 'gzip' | 'zstd' | 'none') =>
    makeLayer([{ path: `${name}/` }, { path: `${name}/data.txt`, content: `${name} layer of the client test image\n`.repeat(50) }], {
      format: 'oci',
      compression,
    });
  return makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [layer('zstd', 'zstd'), layer('gzip', 'gzip'), layer('plain', 'none')] });
}

export async function writeClientImages(): Promise<ClientImages> {
  const images = await writeE2eImages();
  const mixed = mixedImage();
  const mixedLayout = join(images.root, 'mixed-layout');
  await writeOciLayout(mixedLayout, [{ artifact: mixed, name: 'mixed' }]);
  const corruptLayout = join(images.root, 'corrupt-layout');
  await cp(images.layout, corruptLayout, { recursive: true });
  const layer = images.fixtures.ociLarge.layers[0]!;
  const file = await open(ociBlobPath(corruptLayout, layer.digest), 'r+');
  try {
    const offset = Math.floor(layer.bytes.length / 2);
    await file.write(Buffer.from([layer.bytes[offset]! ^ 0xff]), 0, 1, offset);
  } finally {
    await file.close();
  }
  return { ...images, mixed, mixedLayout, corruptLayout };
}
