import { type TomlReader, type TomlTable } from './toml-values.js';

/** The sysregistries v1 lists: `[registries.search|insecure|block] registries = [...]`. */
export interface V1Lists {
  readonly search?: readonly string[] | undefined;
  readonly insecure?: readonly string[] | undefined;
  readonly block?: readonly string[] | undefined;
}

/** The v1 lists a document sets; `undefined` when it sets none (a table without the key is not set). */
export function readV1Lists(reader: TomlReader, document: TomlTable): V1Lists | undefined {
  const registries = reader.optionalTable(document, 'registries', '[registries]');
  if (registries === undefined) return undefined;
  const list = (name: string): string[] | undefined => {
    const table = reader.optionalTable(registries, name, `[registries.${name}]`);
    return table === undefined ? undefined : reader.optionalStrings(table, 'registries', `[registries.${name}] "registries"`);
  };
  const lists = { search: list('search'), insecure: list('insecure'), block: list('block') };
  return lists.search === undefined && lists.insecure === undefined && lists.block === undefined ? undefined : lists;
}

/** The v1 lists as v2 tables: one `[[registry]]` per blocked or insecure host, in first-seen order. */
export function v1AsV2(lists: V1Lists): TomlTable {
  const entries = new Map<string, { prefix: string; location: string; blocked?: boolean; insecure?: boolean }>();
  const entry = (written: string) => {
    // Keyed like the location the entry ends up with, so `a.com/` and `a.com` are one registry.
    const host = written.replace(/\/+$/, '');
    let found = entries.get(host);
    if (found === undefined) {
      found = { prefix: written, location: written };
      entries.set(host, found);
    }
    return found;
  };
  for (const host of lists.block ?? []) entry(host).blocked = true;
  for (const host of lists.insecure ?? []) entry(host).insecure = true;
  return {
    registry: [...entries.values()],
    ...(lists.search === undefined ? {} : { 'unqualified-search-registries': lists.search }),
  };
}

/** Whether a document sets any v2 key; v1 and v2 keys in one file are refused. */
export function setsV2Keys(document: TomlTable): boolean {
  const nonEmptyString = (key: string) => typeof document[key] === 'string' && document[key] !== '';
  return (
    document['registry'] !== undefined ||
    document['unqualified-search-registries'] !== undefined ||
    document['credential-helpers'] !== undefined ||
    document['aliases'] !== undefined ||
    nonEmptyString('short-name-mode') ||
    nonEmptyString('additional-layer-store-auth-helper')
  );
}
