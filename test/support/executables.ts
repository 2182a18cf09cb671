/** The single executables `npm run build:exe` makes, for the tests that run them. */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './spawn-proxy.js';

export const EXE = join(REPO_ROOT, 'dist/exe/container-image-proxy');
export const EXE_ARM64 = join(REPO_ROOT, 'dist/exe/container-image-proxy-linux-arm64');
const BUNDLE = join(REPO_ROOT, 'dist/src/bin/container-image-proxy-bundle.cjs');

/** `npm test` builds them in pretest; a mocha run of a file alone rebuilds them when the bundle is newer. */
export function ensureExecutables(): void {
  const fresh = (file: string): boolean => existsSync(file) && statSync(file).mtimeMs >= statSync(BUNDLE).mtimeMs;
  if (fresh(EXE) && fresh(EXE_ARM64)) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build-exe.mjs')], { cwd: REPO_ROOT, stdio: 'pipe' });
}
