/**
 * The images the end-to-end tests serve, written once per suite to a temporary directory:
 * an OCI layout holding a single image (`single`), a three-platform index (`multi`) and an image
 * with a 2 MiB layer (`large`), plus a docker schema2 image in the dir: format.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardFixtures, type StandardFixtures, writeDirImage, writeOciLayout } from '../support/image-fixtures.js';

export interface E2eImages {
  readonly root: string;
  readonly layout: string;
  readonly dirImage: string;
  readonly fixtures: StandardFixtures;
  cleanup(): Promise<void>;
}

export async function writeE2eImages(): Promise<E2eImages> {
  const root = await mkdtemp(join(tmpdir(), 'cip-e2e-'));
  const fixtures = standardFixtures();
  const layout = join(root, 'layout');
  const dirImage = join(root, 'dir-image');
  await writeOciLayout(layout, [
    { artifact: fixtures.ociSingle, name: 'single' },
    { artifact: fixtures.ociIndex, name: 'multi' },
    { artifact: fixtures.ociLarge, name: 'large' },
  ]);
  await writeDirImage(dirImage, fixtures.dockerSingle);
  return { root, layout, dirImage, fixtures, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A missing interpreter fails under CI and is reported (not silently skipped) elsewhere. */
export function requireTool(context: Mocha.Context, available: boolean, tool: string): void {
  if (available) return;
  if (process.env['CI'] === 'true') throw new Error(`${tool} is required for the end-to-end tests under CI`);
  console.warn(`    (skipped: ${tool} is not installed)`);
  context.skip();
}
