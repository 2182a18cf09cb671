import { join } from 'node:path';

export interface AuthFilePath {
  readonly path: string;
  /** `~/.dockercfg`: the top level is the auths map. */
  readonly legacy: boolean;
}

/**
 * The auth files c/image reads on Linux when no `--authfile` / `REGISTRY_AUTH_FILE` is given, in
 * order (`getAuthFilePaths`). An empty variable counts as unset, as Go's `os.Getenv` reads it.
 *
 * c/image skips the runtime-dir file, with a warning, when `$XDG_RUNTIME_DIR` does not exist.
 * Listing it anyway changes nothing: a missing file is skipped when read.
 */
export function authFilePaths(env: Readonly<Record<string, string | undefined>>, homeDir: string, uid: number): AuthFilePath[] {
  const runtimeDir = env['XDG_RUNTIME_DIR'] || undefined;
  const configHome = env['XDG_CONFIG_HOME'] || join(homeDir, '.config');
  const dockerConfig = env['DOCKER_CONFIG'] || undefined;
  return [
    { path: runtimeDir === undefined ? `/run/containers/${uid}/auth.json` : join(runtimeDir, 'containers', 'auth.json'), legacy: false },
    { path: join(configHome, 'containers', 'auth.json'), legacy: false },
    { path: dockerConfig === undefined ? join(homeDir, '.docker', 'config.json') : join(dockerConfig, 'config.json'), legacy: false },
    { path: join(homeDir, '.dockercfg'), legacy: true },
  ];
}
