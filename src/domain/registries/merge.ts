import { type DockerReference } from '../reference.js';
import { sortByPrefix } from './parse-file.js';
import { AUTH_FILE_HELPER, type RegistriesConf, type RegistriesConfFile, type RegistryEntry } from './registries-conf.js';

/**
 * The main file with its drop-ins applied in order (containers-registries.conf.d(5)): a
 * `[[registry]]` with a prefix already seen replaces that whole table; list keys replace only
 * when the drop-in sets them (`[]` clears); aliases merge key by key, `""` erasing one.
 * An empty `files` (no registries.conf anywhere) gives the defaults.
 */
export function mergeRegistriesConf(files: readonly RegistriesConfFile[]): RegistriesConf {
  const registries = new Map<string, RegistryEntry>();
  const aliases = new Map<string, DockerReference | undefined>();
  let search: readonly string[] = [];
  let helpers: readonly string[] = [];
  let mode: RegistriesConf['shortNameMode'] = 'permissive';
  for (const file of files) {
    for (const entry of file.registries) registries.set(entry.prefix, entry);
    for (const [name, target] of file.aliases) aliases.set(name, target);
    search = file.unqualifiedSearchRegistries ?? search;
    helpers = file.credentialHelpers ?? helpers;
    mode = file.shortNameMode ?? mode;
  }
  return {
    registries: sortByPrefix([...registries.values()]),
    unqualifiedSearchRegistries: search,
    credentialHelpers: helpers.length === 0 ? [AUTH_FILE_HELPER] : helpers,
    shortNameMode: mode,
    aliases: new Map([...aliases].filter((pair): pair is [string, DockerReference] => pair[1] !== undefined)),
  };
}
