import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TomlError, parse } from 'smol-toml';
import { ProxyError } from '../../domain/errors.js';
import { type RegistriesConfRole, parseRegistriesConfFile } from '../../domain/registries/parse-file.js';
import { type RegistriesConfFile } from '../../domain/registries/registries-conf.js';

export interface RegistriesConfLocations {
  /** `--registries-conf` / `CONTAINERS_REGISTRIES_CONF` / `REGISTRIES_CONFIG_PATH`: must exist. */
  readonly explicitPath?: string | undefined;
  readonly homeDir: string;
  /** `/etc/containers/registries.conf` unless a test moves it. */
  readonly systemPath?: string | undefined;
  /** `/etc/containers/registries.conf.d` unless a test moves it. */
  readonly systemDropInDir?: string | undefined;
}

interface Selection {
  readonly main: string;
  readonly mainRequired: boolean;
  readonly dropInDirs: readonly string[];
}

/**
 * Which files make up the configuration (containers-registries.conf(5) and .conf.d(5)): an
 * explicit file (with both drop-in directories), else the per-user file (with only the per-user
 * drop-ins), else the system file (with both). Note: c/image uses `$HOME/.config` here, never
 * `$XDG_CONFIG_HOME`.
 */
export function selectRegistriesConf(locations: RegistriesConfLocations, userFileExists: boolean): Selection {
  const userFile = join(locations.homeDir, '.config', 'containers', 'registries.conf');
  const userDir = join(locations.homeDir, '.config', 'containers', 'registries.conf.d');
  const systemDir = locations.systemDropInDir ?? '/etc/containers/registries.conf.d';
  if (locations.explicitPath !== undefined) return { main: locations.explicitPath, mainRequired: true, dropInDirs: [systemDir, userDir] };
  if (userFileExists) return { main: userFile, mainRequired: false, dropInDirs: [userDir] };
  return { main: locations.systemPath ?? '/etc/containers/registries.conf', mainRequired: false, dropInDirs: [systemDir, userDir] };
}

/** Reads and validates every file of the configuration, the main file first, drop-ins in order. */
export async function readRegistriesConfFiles(locations: RegistriesConfLocations): Promise<RegistriesConfFile[]> {
  const userFile = join(locations.homeDir, '.config', 'containers', 'registries.conf');
  const selection = selectRegistriesConf(locations, (await readText(userFile)) !== undefined);
  const files: RegistriesConfFile[] = [];
  const main = await loadFile(selection.main, 'main');
  if (main !== undefined) files.push(main);
  else if (selection.mainRequired) throw new ProxyError('config-invalid', `registries configuration ${selection.main} does not exist`);
  for (const dir of selection.dropInDirs) {
    for (const path of await dropInPaths(dir)) {
      // A drop-in removed since the directory was listed is skipped, as c/image does.
      const dropIn = await loadFile(path, 'drop-in');
      if (dropIn !== undefined) files.push(dropIn);
    }
  }
  return files;
}

/** `*.conf` directly in the directory (no recursion), in lexical order; a missing directory is empty. */
async function dropInPaths(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => !entry.isDirectory() && entry.name.endsWith('.conf'))
      .map((entry) => join(dir, entry.name))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ProxyError('config-invalid', `cannot read registries.conf.d directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
}

async function loadFile(path: string, role: RegistriesConfRole): Promise<RegistriesConfFile | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  return parseRegistriesConfText(text, path, role);
}

/** One registries.conf file's text: TOML, then the settings containers/image reads from it. */
export function parseRegistriesConfText(text: string, path: string, role: RegistriesConfRole): RegistriesConfFile {
  return parseRegistriesConfFile(parseToml(text, path), path, role);
}

/** The file's text, or undefined when it does not exist; any other failure is an error naming it. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ProxyError('config-invalid', `cannot read registries configuration ${path}: ${code ?? String(err)}`, { cause: err });
  }
}

function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const summary = err.message.split('\n')[0] ?? 'invalid TOML';
    throw new ProxyError('config-invalid', `registries configuration ${path}, line ${err.line} column ${err.column}: ${summary}`, { cause: err });
  }
}
