import { isProxyError } from '../errors.js';
import { type DockerReference, isShortName, parseDockerReference } from '../reference.js';
import { type MirrorEntry, type PullFromMirror, type RegistriesConfFile, type RegistryEntry, type ShortNameMode } from './registries-conf.js';
import { TomlReader, type TomlTable } from './toml-values.js';
import { readV1Lists, setsV2Keys, v1AsV2 } from './v1-format.js';

/** The main registries.conf may still be in the v1 format; drop-ins must be v2. */
export type RegistriesConfRole = 'main' | 'drop-in';

const PULL_FROM_MIRROR: ReadonlyMap<string, PullFromMirror> = new Map([
  ['', 'all'],
  ['all', 'all'],
  ['digest-only', 'digest-only'],
  ['tag-only', 'tag-only'],
]);
const SHORT_NAME_MODES: readonly ShortNameMode[] = ['enforcing', 'permissive', 'disabled'];
// host[:port] as the reference grammar has it (IPv6 literals included), nothing after it.
const DOMAIN_PATTERN = /^(?:[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*(?:\.[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/**
 * Validates one parsed registries.conf document the way containers/image loads a file: v1
 * conversion (main file only), then every rule of its post-processing; any error names the file.
 */
export function parseRegistriesConfFile(document: TomlTable, path: string, role: RegistriesConfRole): RegistriesConfFile {
  const reader = new TomlReader(path);
  const v2 = toV2(reader, document, role);
  const written = reader.tables(v2, 'registry').map((table, index) => readRegistry(reader, table, index));
  checkConflicts(reader, written);
  const registries = uniqueSortedByPrefix(written);
  const search = reader.optionalStrings(v2, 'unqualified-search-registries')?.map((entry) => searchRegistry(reader, entry));
  const mode = reader.string(v2, 'short-name-mode', 'the key');
  if (mode !== '' && !SHORT_NAME_MODES.includes(mode as ShortNameMode)) {
    throw reader.fail(`invalid short-name-mode ${JSON.stringify(mode)} (expected ${SHORT_NAME_MODES.join(', ')})`);
  }
  for (const { prefix } of registries) {
    if (prefix.startsWith('*.') && /[/@:]/.test(prefix)) {
      throw reader.fail(`wildcard prefix ${JSON.stringify(prefix)} must have the form *.example.com (no "/", "@" or ":")`);
    }
  }
  const helper = reader.string(v2, 'additional-layer-store-auth-helper', 'the key');
  return {
    path,
    registries,
    unqualifiedSearchRegistries: search,
    credentialHelpers: reader.optionalStrings(v2, 'credential-helpers'),
    shortNameMode: mode === '' ? undefined : (mode as ShortNameMode),
    additionalLayerStoreAuthHelper: helper === '' ? undefined : helper,
    aliases: readAliases(reader, reader.optionalTable(v2, 'aliases', '[aliases]')),
  };
}

function toV2(reader: TomlReader, document: TomlTable, role: RegistriesConfRole): TomlTable {
  const v1 = readV1Lists(reader, document);
  if (v1 === undefined) return document;
  if (role === 'drop-in') throw reader.fail('a drop-in must be in the v2 format, but this one uses the v1 [registries.*] tables');
  if (setsV2Keys(document)) throw reader.fail('mixing the v1 [registries.*] tables with v2 keys is not supported');
  return v1AsV2(v1);
}

/** Trailing slashes trimmed; a URI scheme is refused, as a location is host[:port][/path]. */
function location(reader: TomlReader, written: string): string {
  const trimmed = written.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) throw reader.fail(`invalid location ${JSON.stringify(written)}: URI schemes are not supported`);
  return trimmed;
}

function readRegistry(reader: TomlReader, table: TomlTable, index: number): RegistryEntry {
  const where = `[[registry]] #${index + 1}`;
  const own = location(reader, reader.string(table, 'location', where));
  let prefix = reader.string(table, 'prefix', where);
  if (prefix === '') {
    if (own === '') throw reader.fail(`${where}: both location and prefix are unset`);
    prefix = own;
  } else {
    prefix = location(reader, prefix);
    if (!prefix.startsWith('*.') && own === '') {
      throw reader.fail(`${where} (prefix ${JSON.stringify(prefix)}): location is unset and the prefix is not of the form *.example.com`);
    }
  }
  const named = `${where} (prefix ${JSON.stringify(prefix)})`;
  if (reader.string(table, 'pull-from-mirror', named) !== '') {
    throw reader.fail(`${named}: pull-from-mirror may only be set on a [[registry.mirror]], not on the registry itself`);
  }
  const mirrorByDigestOnly = reader.boolean(table, 'mirror-by-digest-only', named);
  const mirrors = reader.tables(table, 'mirror').map((mirror, at) => readMirror(reader, mirror, `${named} mirror #${at + 1}`, mirrorByDigestOnly));
  return {
    prefix,
    location: own,
    insecure: reader.boolean(table, 'insecure', named),
    blocked: reader.boolean(table, 'blocked', named),
    mirrorByDigestOnly,
    mirrors,
    origin: reader.file,
  };
}

function readMirror(reader: TomlReader, table: TomlTable, where: string, mirrorByDigestOnly: boolean): MirrorEntry {
  const own = location(reader, reader.string(table, 'location', where));
  if (own === '') throw reader.fail(`${where}: the mirror location is unset`);
  const written = reader.string(table, 'pull-from-mirror', where);
  if (mirrorByDigestOnly && written !== '') {
    throw reader.fail(`${where} (${own}): pull-from-mirror cannot be set when the registry has mirror-by-digest-only = true`);
  }
  const pullFromMirror = PULL_FROM_MIRROR.get(written);
  if (pullFromMirror === undefined) {
    throw reader.fail(`${where} (${own}): unsupported pull-from-mirror value ${JSON.stringify(written)} (expected all, digest-only or tag-only)`);
  }
  return { location: own, insecure: reader.boolean(table, 'insecure', where), pullFromMirror };
}

/** Entries for one registry (same location, or same wildcard prefix) must agree on insecure and blocked. */
function checkConflicts(reader: TomlReader, registries: readonly RegistryEntry[]): void {
  const seen = new Map<string, RegistryEntry>();
  for (const entry of registries) {
    const key = entry.location === '' ? entry.prefix : entry.location;
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, entry);
      continue;
    }
    for (const setting of ['insecure', 'blocked'] as const) {
      if (other[setting] !== entry[setting])
        throw reader.fail(`registry ${JSON.stringify(key)} is defined multiple times with conflicting '${setting}' settings`);
    }
  }
}

/** Later entries with an already seen prefix could never win a match; they are dropped. */
function uniqueSortedByPrefix(entries: readonly RegistryEntry[]): RegistryEntry[] {
  const byPrefix = new Map<string, RegistryEntry>();
  for (const entry of entries) if (!byPrefix.has(entry.prefix)) byPrefix.set(entry.prefix, entry);
  return sortByPrefix([...byPrefix.values()]);
}

/** Byte order, as Go's sort.Strings: `*` sorts before letters. */
export function sortByPrefix(entries: RegistryEntry[]): RegistryEntry[] {
  return entries.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

function searchRegistry(reader: TomlReader, written: string): string {
  const host = location(reader, written);
  if (!DOMAIN_PATTERN.test(host)) throw reader.fail(`invalid unqualified-search-registries entry ${JSON.stringify(host)} (expected host[:port])`);
  return host;
}

function readAliases(reader: TomlReader, table: TomlTable | undefined): Map<string, DockerReference | undefined> {
  const aliases = new Map<string, DockerReference | undefined>();
  const problems: string[] = [];
  for (const [name, value] of Object.entries(table ?? {})) {
    const problem =
      typeof value !== 'string'
        ? `alias ${JSON.stringify(name)} must be a string`
        : (aliasNameProblem(name) ?? (value === '' ? undefined : aliasTargetProblem(value)));
    if (problem !== undefined) problems.push(problem);
    else aliases.set(name, value === '' ? undefined : parseDockerReference(value as string));
  }
  if (problems.length > 0) throw reader.fail(`invalid [aliases]: ${problems.join('; ')}`);
  return aliases;
}

/** An alias key is a short name: no registry, no tag, no digest. */
function aliasNameProblem(name: string): string | undefined {
  const parsed = parseOrProblem(name);
  if (typeof parsed === 'string') return parsed;
  if (!isShortName(name)) return `short name ${JSON.stringify(name)} must not contain a registry`;
  if (parsed.tag !== undefined || parsed.digest !== undefined) return `short name ${JSON.stringify(name)} must not contain a tag or digest`;
  return undefined;
}

/** An alias value is a fully qualified repository: a registry, no tag, no digest. */
function aliasTargetProblem(value: string): string | undefined {
  const parsed = parseOrProblem(value);
  if (typeof parsed === 'string') return parsed;
  if (isShortName(value)) return `alias ${JSON.stringify(value)} must contain a registry and a repository`;
  if (parsed.tag !== undefined || parsed.digest !== undefined) return `alias ${JSON.stringify(value)} must not contain a tag or digest`;
  return undefined;
}

/** The reference, or what is wrong with it. */
function parseOrProblem(value: string): DockerReference | string {
  try {
    return parseDockerReference(value);
  } catch (err) {
    if (isProxyError(err)) return err.message;
    throw err;
  }
}
