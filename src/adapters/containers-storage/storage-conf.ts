/**
 * The default store, found as containers/storage finds it (types/options.go): storage.conf from
 * `$CONTAINERS_STORAGE_CONF`, else for a rootless user `$XDG_CONFIG_HOME/containers/storage.conf`
 * (or `~/.config/…`), else `/etc/containers/storage.conf`, else `/usr/share/containers/storage.conf`;
 * its `driver`, `graphroot`, `runroot`, `rootless_storage_path` and `additionalimagestores`, and
 * the rootless defaults (`$XDG_DATA_HOME/containers/storage`, `$XDG_RUNTIME_DIR/containers`).
 */
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { ProxyError } from '../../domain/errors.js';

export interface StorageConfLocations {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** Rootless when not 0: per-user configuration and storage paths. */
  readonly uid: number;
  /** `/etc/containers/storage.conf` and `/usr/share/containers/storage.conf` unless a test moves them. */
  readonly systemPaths?: readonly [string, string] | undefined;
}

/** The default store's settings; the driver is undefined when storage.conf names none. */
export interface DefaultStore {
  readonly driver?: string | undefined;
  readonly graphRoot: string;
  readonly runRoot: string;
  readonly options: readonly string[];
  readonly additionalImageStores: readonly string[];
  /** The storage.conf these came from, or a note that none was found. */
  readonly origin: string;
}

interface ConfValues {
  readonly driver?: string | undefined;
  readonly graphRoot?: string | undefined;
  readonly runRoot?: string | undefined;
  readonly rootlessStoragePath?: string | undefined;
  readonly additionalImageStores: readonly string[];
}

const ROOTFUL_GRAPH_ROOT = '/var/lib/containers/storage';
const ROOTFUL_RUN_ROOT = '/run/containers/storage';
/** Drivers containers/storage lets a rootless user keep from the system file. */
const ROOTLESS_DRIVERS: ReadonlySet<string> = new Set(['overlay', 'vfs', 'btrfs', 'zfs']);

export async function loadDefaultStore(locations: StorageConfLocations): Promise<DefaultStore> {
  const { env, uid } = locations;
  const [etc, usr] = locations.systemPaths ?? ['/etc/containers/storage.conf', '/usr/share/containers/storage.conf'];
  const explicit = env['CONTAINERS_STORAGE_CONF'];
  const systemFile = (await exists(etc)) ? etc : usr;
  if (uid === 0) {
    const path = explicit ?? systemFile;
    const values = await readConf(path, explicit !== undefined);
    return finish(locations, values ?? { additionalImageStores: [] }, { graphRoot: ROOTFUL_GRAPH_ROOT, runRoot: ROOTFUL_RUN_ROOT }, origin(path, values));
  }
  const configHome = env['XDG_CONFIG_HOME'] || join(locations.homeDir, '.config');
  const userFile = explicit ?? join(configHome, 'containers', 'storage.conf');
  const dataHome = env['XDG_DATA_HOME'] || join(locations.homeDir, '.local', 'share');
  const runtimeDir = env['XDG_RUNTIME_DIR'] || `/run/user/${uid}`;
  const rootless = { graphRoot: join(dataHome, 'containers', 'storage'), runRoot: join(runtimeDir, 'containers') };
  const user = await readConf(userFile, explicit !== undefined);
  if (user !== undefined) return finish(locations, user, { ...rootless, graphRoot: user.rootlessStoragePath ?? rootless.graphRoot }, origin(userFile, user));
  // No per-user file: the system file lends its driver (one a rootless user can run) and rootless_storage_path only.
  const system = (await readConf(systemFile, false)) ?? { additionalImageStores: [] };
  const driver = system.driver !== undefined && ROOTLESS_DRIVERS.has(system.driver) ? system.driver : undefined;
  const values = { driver, additionalImageStores: [] };
  return finish(locations, values, { ...rootless, graphRoot: system.rootlessStoragePath ?? rootless.graphRoot }, `rootless defaults (${systemFile})`);
}

function origin(path: string, values: ConfValues | undefined): string {
  return values === undefined ? `built-in defaults (${path} does not exist)` : path;
}

function finish(locations: StorageConfLocations, values: ConfValues, defaults: { graphRoot: string; runRoot: string }, from: string): DefaultStore {
  const expand = (path: string) => expandPath(path, locations);
  const driver = canonicalDriver(locations.env['STORAGE_DRIVER'] || values.driver);
  const options = locations.env['STORAGE_OPTS']?.split(',').filter((option) => option !== '') ?? [];
  return {
    driver,
    graphRoot: expand(values.graphRoot ?? defaults.graphRoot),
    runRoot: expand(values.runRoot ?? defaults.runRoot),
    options,
    additionalImageStores: values.additionalImageStores.map(expand),
    origin: from,
  };
}

/** containers/storage takes `overlay2` for the `overlay` driver it is. */
function canonicalDriver(driver: string | undefined): string | undefined {
  return driver === 'overlay2' ? 'overlay' : driver;
}

/** expandEnvPath: `$UID`, then `$VAR` and `${VAR}` from the environment, then cleaned. */
function expandPath(path: string, locations: StorageConfLocations): string {
  const withUid = path.replaceAll('$UID', String(locations.uid));
  const expanded = withUid.replace(
    /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g,
    (_, braced: string | undefined, bare: string | undefined) => locations.env[braced ?? bare ?? ''] ?? '',
  );
  return normalize(expanded);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The values of one storage.conf; undefined when the file does not exist and need not. */
async function readConf(path: string, required: boolean): Promise<ConfValues | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`;
    throw new ProxyError('config-invalid', `storage configuration ${path} ${why}`, { cause: err });
  }
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (err) {
    const detail = err instanceof TomlError ? err.message.split('\n')[0] : String(err);
    throw new ProxyError('config-invalid', `storage configuration ${path} is not valid TOML: ${detail}`, { cause: err });
  }
  const storage = table(document['storage'], path, '[storage]');
  const options = table(storage['options'], path, '[storage.options]');
  return {
    driver: canonicalDriver(stringSetting(storage['driver'], path, 'storage.driver')),
    graphRoot: stringSetting(storage['graphroot'], path, 'storage.graphroot'),
    runRoot: stringSetting(storage['runroot'], path, 'storage.runroot'),
    rootlessStoragePath: stringSetting(storage['rootless_storage_path'], path, 'storage.rootless_storage_path'),
    additionalImageStores: stringList(options['additionalimagestores'], path, 'storage.options.additionalimagestores'),
  };
}

function table(value: unknown, path: string, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProxyError('config-invalid', `storage configuration ${path}: ${name} must be a table`);
  return value as Record<string, unknown>;
}

/** An empty string means "not set", as with BurntSushi/toml decoding into a Go string. */
function stringSetting(value: unknown, path: string, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ProxyError('config-invalid', `storage configuration ${path}: ${name} must be a string`);
  return value;
}

function stringList(value: unknown, path: string, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new ProxyError('config-invalid', `storage configuration ${path}: ${name} must be an array of strings`);
  }
  return value as string[];
}
