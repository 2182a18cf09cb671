/**
 * Local containers/storage stores written by the real tools (podman, buildah, skopeo), each in
 * a directory of its own (`--root`, `--runroot`, `--storage-driver`), for tests that read them.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunResult } from './registry/processes.js';

export type StoreDriver = 'overlay' | 'vfs';

export interface LocalStore {
  readonly driver: StoreDriver;
  readonly graphRoot: string;
  readonly runRoot: string;
  /** `[driver@graphroot+runroot]`, the store specifier of a containers-storage: reference. */
  readonly spec: string;
}

export async function makeStore(parent: string, name: string, driver: StoreDriver): Promise<LocalStore> {
  const graphRoot = join(parent, name, 'root');
  const runRoot = join(parent, name, 'run');
  await mkdir(graphRoot, { recursive: true });
  await mkdir(runRoot, { recursive: true });
  return { driver, graphRoot, runRoot, spec: `[${driver}@${graphRoot}+${runRoot}]` };
}

function storeFlags(store: LocalStore): string[] {
  return ['--root', store.graphRoot, '--runroot', store.runRoot, '--storage-driver', store.driver];
}

export function podman(store: LocalStore, args: readonly string[]): Promise<RunResult> {
  return run('podman', [...storeFlags(store), ...args], { timeoutMs: 300_000 });
}

export function buildah(store: LocalStore, args: readonly string[]): Promise<RunResult> {
  return run('buildah', [...storeFlags(store), ...args], { timeoutMs: 300_000 });
}

/** `buildah from scratch`, files copied in, a label, `buildah commit`: no container runtime needed. Answers the image ID. */
export async function buildLocalImage(store: LocalStore, work: string, name: string, files: Readonly<Record<string, string | Buffer>>): Promise<string> {
  const container = (await buildah(store, ['from', 'scratch'])).stdout.trim();
  const source = join(work, `${name.replace(/[^a-z0-9]/g, '_')}-files`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), content);
  }
  await buildah(store, ['copy', container, `${source}/.`, '/']);
  await buildah(store, ['config', '--label', `built-by=container-image-proxy-tests`, container]);
  const id = (await buildah(store, ['commit', '--quiet', container, name])).stdout.trim();
  await buildah(store, ['rm', container]);
  return id;
}

/**
 * Removes a store. Reading an overlay store leaves its `overlay` directory bind-mounted on
 * itself (containers/storage's private mount, undone only by podman), so that is unmounted first.
 */
export async function removeStore(store: LocalStore): Promise<void> {
  await unmountUnder(store.graphRoot);
  await rm(join(store.graphRoot, '..'), { recursive: true, force: true });
}

export async function unmountUnder(path: string): Promise<void> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mounts
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === path || point.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run('umount', [point]).catch(() => run('umount', ['-l', point]));
}

/**
 * Everything about a directory tree that a reader must not change: each entry's path, type,
 * mode, owner, size, modification and change times, file contents and link targets.
 */
export async function treeSnapshot(root: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(relative: string): Promise<void> {
    const path = join(root, relative);
    const stats = await lstat(path, { bigint: true });
    hash.update(`${relative}\0${stats.mode}\0${stats.uid}:${stats.gid}\0${stats.size}\0${stats.mtimeNs}\0${stats.ctimeNs}\0`);
    if (stats.isSymbolicLink()) hash.update(await readlink(path));
    else if (stats.isFile()) hash.update(await readFile(path));
    else if (stats.isDirectory()) {
      for (const name of (await readdir(path)).sort()) await walk(join(relative, name));
    }
  }
  await walk('');
  return hash.digest('hex');
}
