/**
 * The auth.json / config.json / .dockercfg format as containers/image reads it
 * (`pkg/docker/config/config.go`): parsing with Go's encoding/json leniencies, the key lookup
 * order, the normalization of old-style keys, and the decoding of one entry.
 *
 * Error messages name the file and the entry key, never the content: the content is secrets.
 */
import { type Credentials } from '../../ports/credential-store.js';
import { ProxyError } from '../../domain/errors.js';

export interface AuthEntry {
  readonly auth: string;
  readonly identityToken: string;
}

export interface AuthFileContents {
  /** Entries by key as written in the file (a host, a namespace, or an old-style URL). */
  readonly auths: ReadonlyMap<string, AuthEntry>;
  /** Helper names by exact registry host (`credHelpers`); always empty for the legacy format. */
  readonly credHelpers: ReadonlyMap<string, string>;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Go's encoding/json matches struct fields case-insensitively, preferring an exact match, so
 * `"Auths"` is read as `auths`. Copying that keeps files that work with podman working here.
 */
function goField(object: JsonObject, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

/** A JSON string field; null and absent are Go's zero value, anything else does not unmarshal. */
function stringField(object: JsonObject, name: string, describe: () => string): string {
  const value = goField(object, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ProxyError('config-invalid', `${describe()}: "${name}" is not a string`);
  return value;
}

function parseEntries(value: unknown, file: string): Map<string, AuthEntry> {
  const entries = new Map<string, AuthEntry>();
  if (value === undefined || value === null) return entries;
  if (!isObject(value)) throw new ProxyError('config-invalid', `auth file ${file}: "auths" is not an object`);
  for (const [key, raw] of Object.entries(value)) {
    const describe = (): string => `auth file ${file}, entry "${key}"`;
    if (raw === null) {
      entries.set(key, { auth: '', identityToken: '' });
      continue;
    }
    if (!isObject(raw)) throw new ProxyError('config-invalid', `${describe()} is not an object`);
    entries.set(key, { auth: stringField(raw, 'auth', describe), identityToken: stringField(raw, 'identitytoken', describe) });
  }
  return entries;
}

function parseCredHelpers(value: unknown, file: string): Map<string, string> {
  const helpers = new Map<string, string>();
  if (value === undefined || value === null) return helpers;
  if (!isObject(value)) throw new ProxyError('config-invalid', `auth file ${file}: "credHelpers" is not an object`);
  for (const [registry, helper] of Object.entries(value)) {
    if (helper === null) continue;
    if (typeof helper !== 'string') throw new ProxyError('config-invalid', `auth file ${file}: credHelpers["${registry}"] is not a string`);
    helpers.set(registry, helper);
  }
  return helpers;
}

/**
 * Parses a file's text. `legacy` is the `~/.dockercfg` format, whose top level is the auths map.
 * The JSON parser's own message is not kept: it quotes the text around the error, i.e. secrets.
 */
export function parseAuthFile(text: string, legacy: boolean, file: string): AuthFileContents {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ProxyError('config-invalid', `auth file ${file} is not valid JSON`);
  }
  if (document === null) return { auths: new Map(), credHelpers: new Map() };
  if (!isObject(document)) throw new ProxyError('config-invalid', `auth file ${file} is not a JSON object`);
  if (legacy) return { auths: parseEntries(document, file), credHelpers: new Map() };
  return { auths: parseEntries(goField(document, 'auths'), file), credHelpers: parseCredHelpers(goField(document, 'credHelpers'), file) };
}

/**
 * Exact keys to try, best first: `quay.io/ns/repo`, `quay.io/ns`, `quay.io`. The legacy format
 * has host keys only.
 */
export function authKeyLookupOrder(repository: string, registry: string, legacy: boolean): string[] {
  if (legacy) return [registry];
  const keys: string[] = [];
  let key = repository;
  for (;;) {
    keys.push(key);
    const slash = key.lastIndexOf('/');
    if (slash === -1) return keys;
    key = key.slice(0, slash);
  }
}

/** The docker.io hosts all share the key Docker's CLI writes (`https://index.docker.io/v1/`). */
export function normalizeRegistry(registry: string): string {
  return registry === 'registry-1.docker.io' || registry === 'docker.io' ? 'index.docker.io' : registry;
}

/**
 * An old-style key reduced to a host: `https://index.docker.io/v1/` → `index.docker.io`. A key
 * without a scheme keeps its path unless the file is legacy, so a namespaced key never matches
 * a whole registry here.
 */
export function normalizeAuthFileKey(key: string, legacy: boolean): string {
  let stripped = key;
  if (stripped.startsWith('http://')) stripped = stripped.slice('http://'.length);
  if (stripped.startsWith('https://')) stripped = stripped.slice('https://'.length);
  if (legacy || stripped !== key) {
    const slash = stripped.indexOf('/');
    if (slash !== -1) stripped = stripped.slice(0, slash);
  }
  return normalizeRegistry(stripped);
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's `base64.StdEncoding`: padding required, CR and LF ignored, nothing else tolerated. */
function decodeStdBase64(value: string): Buffer | undefined {
  const compact = value.replace(/[\r\n]/g, '');
  return STD_BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

/**
 * One entry's credentials. `auth` is base64 of `user:password`, split at the first colon; without
 * a colon the entry yields nothing at all (Docker writes `{}` entries as credential-helper
 * markers), even when it carries an identity token. NULs around the password are trimmed.
 */
export function decodeAuthEntry(entry: AuthEntry, key: string, file: string): Credentials {
  const decoded = decodeStdBase64(entry.auth);
  if (decoded === undefined) throw new ProxyError('config-invalid', `auth file ${file}, entry "${key}": "auth" is not valid base64`);
  const text = decoded.toString('utf8');
  const colon = text.indexOf(':');
  if (colon === -1) return {};
  return {
    username: text.slice(0, colon),
    password: text.slice(colon + 1).replace(/^\0+|\0+$/g, ''),
    ...(entry.identityToken === '' ? {} : { identityToken: entry.identityToken }),
  };
}
