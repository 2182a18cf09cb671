import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, run, type RunResult } from './processes.js';

/**
 * Runs skopeo insulated from the machine's configuration: a private policy
 * (insecureAcceptAnything), an empty registries.conf, no auth file, a private HOME, and —
 * when running as root — a private blob-info cache.
 *
 * Why the cache matters: containers/image remembers which compressed blobs it has seen where
 * (as root in /var/lib/containers/cache; no flag or variable moves it). With that memory a
 * push asked for `--dest-compress-format zstd` silently reuses a gzip blob already in the
 * registry. As root we therefore run skopeo in a private mount namespace with a tmpfs over
 * that directory; for other users HOME/XDG_DATA_HOME already point into the temp dir.
 */

export interface SkopeoEnvironment {
  readonly dir: string;
  readonly policyPath: string;
  readonly registriesDir: string;
  /** Passed with --registries-conf: skopeo 1.9.3 ignores CONTAINERS_REGISTRIES_CONF. */
  readonly registriesConf: string;
  readonly env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function makeSkopeoEnvironment(): SkopeoEnvironment {
  const dir = makeTempDir('skopeo-env');
  const policyPath = join(dir, 'policy.json');
  const registriesConf = join(dir, 'registries.conf');
  const registriesDir = join(dir, 'registries.d');
  const home = join(dir, 'home');
  mkdirSync(registriesDir);
  mkdirSync(join(home, '.config'), { recursive: true });
  writeFileSync(policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_RUNTIME_DIR: join(home, 'run'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    TMPDIR: dir,
  };
  return { dir, policyPath, registriesDir, registriesConf, env, cleanup: () => removeTempDir(dir) };
}

const ROOT_CACHE_DIR = '/var/lib/containers/cache';
let namespaceWorks: boolean | undefined;

/** Whether `unshare --mount` works here (root with CAP_SYS_ADMIN; not in every container). */
function privateCacheAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  namespaceWorks ??= spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' }).status === 0;
  return namespaceWorks;
}

/** Runs `skopeo --policy … --registries.d … ARGS` in the environment (see the file comment). */
export function skopeo(environment: SkopeoEnvironment, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const skopeoArgs = [
    '--policy',
    environment.policyPath,
    '--registries.d',
    environment.registriesDir,
    '--registries-conf',
    environment.registriesConf,
    '--tmpdir',
    environment.dir,
    ...args,
  ];
  return withPrivateBlobCache(environment, 'skopeo', skopeoArgs, options);
}

/**
 * Runs a containers/image program (skopeo, podman, buildah) in the environment, with a private
 * blob-info cache where it can be had (see the file comment).
 */
export function withPrivateBlobCache(
  environment: SkopeoEnvironment,
  program: string,
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<RunResult> {
  const runOptions = { env: environment.env, timeoutMs: options.timeoutMs ?? 300_000 };
  if (!privateCacheAvailable()) return run(program, args, runOptions);
  const script = `mkdir -p ${ROOT_CACHE_DIR} && mount -t tmpfs tmpfs ${ROOT_CACHE_DIR} && exec "$0" "$@"`;
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, program, ...args], runOptions);
}

/** Runs one skopeo command in a fresh environment that is removed afterwards. */
export async function skopeoOnce(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const environment = makeSkopeoEnvironment();
  try {
    return await skopeo(environment, args, options);
  } finally {
    environment.cleanup();
  }
}
