import { isDigest } from './digest.js';
import { type DockerReference, dockerName, dockerString } from './docker-name.js';
import { ProxyError } from './errors.js';

/**
 * The store a `containers-storage:` reference names in brackets; every part is optional and
 * the rest comes from storage.conf (containers/storage's GetStore fills in what is missing).
 */
export interface StoreSpec {
  readonly driver?: string | undefined;
  readonly graphRoot?: string | undefined;
  readonly runRoot?: string | undefined;
  readonly options?: readonly string[] | undefined;
}

/**
 * `containers-storage:[DRIVER@GRAPHROOT+RUNROOT:OPTIONS]NAME[:TAG][@DIGEST][@ID]`, as
 * containers/image's storage transport parses it. A name always carries a tag or digest
 * (`:latest` is added). An image ID may be a unique prefix of at least three characters; only
 * the store can expand it, so `idPrefix` is kept until the image is opened. When the whole
 * reference is such a prefix, `prefixMayBeName` says so and `named` holds the name it means if
 * no image ID starts with it.
 */
export interface StorageReference {
  readonly transport: 'containers-storage';
  readonly store?: StoreSpec | undefined;
  readonly named?: DockerReference | undefined;
  readonly id?: string | undefined;
  readonly idPrefix?: string | undefined;
  readonly prefixMayBeName?: boolean | undefined;
}

export const STORAGE_GRAMMAR = 'containers-storage:[[DRIVER@]GRAPHROOT[+RUNROOT][:OPTIONS]]NAME[:TAG][@DIGEST][@IMAGE-ID] or containers-storage:IMAGE-ID';

/** containers/storage's minimum length for an image ID prefix (minimumTruncatedIDLength). */
const MIN_ID_PREFIX = 3;
const IMAGE_ID = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]+$/;

export interface StorageParseHelpers {
  /** ParseNormalizedNamed followed by TagNameOnly. */
  readonly parseName: (value: string) => DockerReference;
  /** Makes the error the caller reports against the whole image name. */
  readonly problem: (message: string) => Error;
}

/** The text after `containers-storage:` (storageTransport.ParseReference and ParseStoreReference). */
export function parseStorageReference(within: string, helpers: StorageParseHelpers): StorageReference {
  let rest = within;
  let store: StoreSpec | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 1) throw helpers.problem('the store specifier "[…" has no closing "]"');
    store = parseStoreSpec(rest.slice(1, close), helpers);
    rest = rest.slice(close + 1);
  }
  if (rest === '') throw helpers.problem(`the reference names no image; expected ${STORAGE_GRAMMAR}`);

  let id: string | undefined;
  let idPrefix: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const possibleId = rest.slice(at + 1);
    if (possibleId === '') throw helpers.problem('empty digest or image ID after "@"');
    // A digest stays part of the name; anything else after the last "@" must be an image ID.
    if (!isDigest(possibleId)) {
      if (IMAGE_ID.test(possibleId)) id = possibleId;
      else if (possibleId.length >= MIN_ID_PREFIX && ID_PREFIX.test(possibleId)) idPrefix = possibleId;
      else throw helpers.problem(`${JSON.stringify(possibleId)} does not look like an image ID or digest`);
      rest = rest.slice(0, at);
    }
  }
  // A lone reference of hex characters may be a truncated (or whole) image ID.
  if (id === undefined && idPrefix === undefined && rest.length >= MIN_ID_PREFIX && ID_PREFIX.test(rest) && rest.length <= 64) {
    if (rest.length === 64) return compact({ store, id: rest });
    return compact({ store, idPrefix: rest, named: helpers.parseName(rest), prefixMayBeName: true });
  }
  const named = rest === '' ? undefined : helpers.parseName(rest);
  return compact({ store, named, id, idPrefix });
}

function parseStoreSpec(spec: string, helpers: StorageParseHelpers): StoreSpec {
  let driver: string | undefined;
  let remainder = spec;
  const at = spec.indexOf('@');
  if (at !== -1) {
    driver = spec.slice(0, at);
    remainder = spec.slice(at + 1);
    if (driver === '') throw helpers.problem('the store specifier names no driver before "@"');
  }
  if (remainder === '') throw helpers.problem('the store specifier names no graph root');
  let options: string[] | undefined;
  const colon = remainder.indexOf(':');
  if (colon !== -1) {
    options = remainder.slice(colon + 1).split(',');
    remainder = remainder.slice(0, colon);
  }
  const plus = remainder.indexOf('+');
  const graphRoot = plus === -1 ? remainder : remainder.slice(0, plus);
  const runRoot = plus === -1 ? '' : remainder.slice(plus + 1);
  for (const [what, path] of [
    ['graph root', graphRoot],
    ['run root', runRoot],
  ] as const) {
    if (path !== '' && !path.startsWith('/')) throw helpers.problem(`the store's ${what} ${JSON.stringify(path)} is not an absolute path`);
  }
  return {
    ...(driver === undefined ? {} : { driver }),
    ...(graphRoot === '' ? {} : { graphRoot }),
    ...(runRoot === '' ? {} : { runRoot }),
    ...(options === undefined ? {} : { options }),
  };
}

function compact(ref: Omit<StorageReference, 'transport'>): StorageReference {
  const entries = Object.entries(ref).filter(([, value]) => value !== undefined);
  return { transport: 'containers-storage', ...Object.fromEntries(entries) } as StorageReference;
}

/** `[driver@graphroot+runroot:options]`, or '' without a store specifier. */
export function formatStoreSpec(store: StoreSpec | undefined): string {
  if (store === undefined) return '';
  const driver = store.driver === undefined ? '' : `${store.driver}@`;
  const runRoot = store.runRoot === undefined ? '' : `+${store.runRoot}`;
  const options = store.options === undefined ? '' : `:${store.options.join(',')}`;
  return `[${driver}${store.graphRoot ?? ''}${runRoot}${options}]`;
}

/** The inverse of parseStorageReference (StringWithinTransport once the store is known). */
export function formatStorageReference(ref: StorageReference): string {
  const store = formatStoreSpec(ref.store);
  if (ref.prefixMayBeName) return `${store}${ref.idPrefix ?? ''}`;
  const named = ref.named === undefined ? '' : dockerString(ref.named);
  const id = ref.id ?? ref.idPrefix;
  return `${store}${named}${id === undefined ? '' : `@${id}`}`;
}

function storeScope(ref: StorageReference): { withDriver: string; driverless: string } {
  const driver = ref.store?.driver;
  const graphRoot = ref.store?.graphRoot;
  if (driver === undefined || graphRoot === undefined) {
    throw new ProxyError('internal', `containers-storage reference ${formatStorageReference(ref)} has no resolved store; it has no policy identity`);
  }
  return { withDriver: `[${driver}@${graphRoot}]`, driverless: `[${graphRoot}]` };
}

/** PolicyConfigurationIdentity: `[driver@graphroot]name:tag[@id]`, for a reference whose store is resolved. */
export function storagePolicyIdentity(ref: StorageReference): string {
  const named = ref.named === undefined || ref.prefixMayBeName ? '' : dockerString(ref.named);
  return `${storeScope(ref).withDriver}${named}${ref.id === undefined ? '' : `@${ref.id}`}`;
}

/** PolicyConfigurationNamespaces: the name without the ID, `name:tag` of `name:tag@digest`, each parent, the store, the graph root. */
export function storagePolicyNamespaces(ref: StorageReference): string[] {
  const { withDriver, driverless } = storeScope(ref);
  const namespaces: string[] = [];
  const named = ref.prefixMayBeName ? undefined : ref.named;
  if (named !== undefined) {
    if (ref.id !== undefined) namespaces.push(withDriver + dockerString(named));
    if (named.tag !== undefined && named.digest !== undefined) namespaces.push(`${withDriver}${dockerName(named)}:${named.tag}`);
    const components = dockerName(named).split('/');
    for (let n = components.length; n > 0; n--) namespaces.push(withDriver + components.slice(0, n).join('/'));
  }
  namespaces.push(withDriver, driverless);
  return namespaces;
}

/** ValidatePolicyConfigurationScope for `containers-storage` scopes in policy.json. */
export function storageScopeProblem(scope: string): string | undefined {
  if (!scope.startsWith('[')) return 'a containers-storage scope starts with "[DRIVER@GRAPHROOT]" or "[GRAPHROOT]"';
  const close = scope.indexOf(']');
  if (close < 1) return 'the store specifier has no closing "]"';
  const spec = scope.slice(1, close);
  const at = spec.indexOf('@');
  const root = at === -1 ? spec : spec.slice(at + 1);
  if (at !== -1 && (spec.slice(0, at) === '' || root === '')) return `${JSON.stringify(spec)} is not DRIVER@GRAPHROOT`;
  if (root === '' || !root.startsWith('/')) return `the graph root ${JSON.stringify(root)} is not an absolute path`;
  const rest = scope.slice(close + 1);
  if (rest === '') return undefined;
  const fields = rest.split('@');
  if (fields.length === 2 && !IMAGE_ID.test(fields[1]!) && !isDigest(fields[1]!)) return `${JSON.stringify(fields[1])} is neither a digest nor an image ID`;
  if (fields.length === 3 && (!isDigest(fields[1]!) || !IMAGE_ID.test(fields[2]!))) return `${JSON.stringify(rest)} is not NAME@DIGEST@IMAGE-ID`;
  if (fields.length > 3) return `${JSON.stringify(rest)} has too many "@"`;
  return undefined;
}
