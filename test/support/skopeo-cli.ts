/**
 * Read-only skopeo calls (`inspect`), to check that containers/image itself reads what the
 * fixture writers produce. Nothing here copies images, so no blob-info cache is written.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

let available: boolean | undefined;

/** Skips the test when skopeo is missing, except under CI=true where that is a failure. */
export function requireSkopeo(context: Mocha.Context): void {
  available ??= spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).status === 0;
  if (available) return;
  if (process.env.CI === 'true') throw new Error('skopeo is required under CI=true but is not installed');
  context.skip();
}

/** `skopeo inspect --raw ARGS`: the exact bytes containers/image reads for the image. */
export async function skopeoInspectRaw(args: readonly string[]): Promise<Buffer> {
  const home = await mkdtemp(join(tmpdir(), 'skopeo-home-'));
  try {
    const { stdout } = await execFileAsync('skopeo', ['inspect', '--raw', ...args], {
      encoding: 'buffer',
      env: { PATH: process.env.PATH, HOME: home },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
