import { isDigest } from './digest.js';
import { ProxyError } from './errors.js';
import { parseDockerReference, type DockerReference } from './reference.js';
import { checkKeys, isJsonObject, parseStrictJson } from './signatures/strict-json.js';
import { storageScopeProblem } from './storage-reference.js';

/**
 * policy.json (containers-policy.json(5)) parsed as strictly as containers/image does: unknown
 * or duplicate keys, empty lists, missing fields and malformed scopes are errors naming the file
 * and the key. Key files are only named here; reading them is the adapters' business.
 */

export type SignedIdentity =
  | { readonly type: 'matchExact' }
  | { readonly type: 'matchRepoDigestOrExact' }
  | { readonly type: 'matchRepository' }
  | { readonly type: 'exactReference'; readonly dockerReference: string }
  | { readonly type: 'exactRepository'; readonly dockerRepository: string }
  | { readonly type: 'remapIdentity'; readonly prefix: string; readonly signedPrefix: string };

/** Where trusted keys come from: files to read, or inline (already base64-decoded) data. */
export type KeySource = { readonly kind: 'paths'; readonly paths: readonly string[] } | { readonly kind: 'data'; readonly data: readonly Uint8Array[] };

export interface FulcioTrust {
  readonly ca: KeySource;
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
}

export interface PkiTrust {
  readonly caRoots: KeySource;
  readonly caIntermediates: KeySource | undefined;
  readonly subjectEmail: string | undefined;
  readonly subjectHostname: string | undefined;
}

export type PolicyRequirement =
  | { readonly type: 'insecureAcceptAnything' }
  | { readonly type: 'reject' }
  | { readonly type: 'signedBy'; readonly keyType: string; readonly keys: KeySource; readonly signedIdentity: SignedIdentity }
  | {
      readonly type: 'sigstoreSigned';
      readonly trust:
        | { readonly kind: 'keys'; readonly keys: KeySource }
        | { readonly kind: 'fulcio'; readonly fulcio: FulcioTrust }
        | { readonly kind: 'pki'; readonly pki: PkiTrust };
      readonly rekorKeys: KeySource | undefined;
      readonly signedIdentity: SignedIdentity;
    };

export interface PolicyDocument {
  /** Where it was read from, for messages. */
  readonly source: string;
  readonly default: readonly PolicyRequirement[];
  readonly transports: Readonly<Record<string, Readonly<Record<string, readonly PolicyRequirement[]>>>>;
}

/** The requirements that apply to an image, and the scope they came from (for messages). */
export interface ScopeMatch {
  /** `default`, `docker:""`, `docker:"quay.io/ns"`, … */
  readonly scope: string;
  readonly requirements: readonly PolicyRequirement[];
}

const GPG_KEY_TYPES = ['GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'];

export function parsePolicy(text: string, source: string): PolicyDocument {
  const raw = parseStrictJson(text, source, 'policy-invalid');
  if (!isJsonObject(raw)) throw invalid(source, 'the top level must be a JSON object');
  checkKeys(raw, ['default', 'transports'], ['default'], source, 'policy-invalid');
  const transports: Record<string, Record<string, readonly PolicyRequirement[]>> = {};
  if (raw['transports'] !== undefined && raw['transports'] !== null) {
    if (!isJsonObject(raw['transports'])) throw invalid(source, '"transports" must be an object');
    for (const [transport, scopes] of Object.entries(raw['transports'])) {
      if (!isJsonObject(scopes)) throw invalid(source, `transports.${transport} must be an object`);
      const parsed: Record<string, readonly PolicyRequirement[]> = {};
      for (const [scope, requirements] of Object.entries(scopes)) {
        const where = `transports.${transport}[${JSON.stringify(scope)}]`;
        const problem = scopeProblem(transport, scope);
        if (problem !== undefined) throw invalid(source, `${where}: invalid scope: ${problem}`);
        parsed[scope] = requirementList(requirements, source, where);
      }
      transports[transport] = parsed;
    }
  }
  return { source, default: requirementList(raw['default'], source, '"default"'), transports };
}

/**
 * containers/image's requirementsForImageRef: the exact identity, then each namespace from the
 * most specific, then the transport's "" scope, then the global default.
 */
export function scopeFor(policy: PolicyDocument, transport: string, identity: string, namespaces: readonly string[]): ScopeMatch {
  const scopes = policy.transports[transport];
  if (scopes) {
    for (const scope of [identity, ...namespaces, '']) {
      const found = Object.hasOwn(scopes, scope) ? scopes[scope] : undefined;
      if (found) return { scope: `${transport}:${JSON.stringify(scope)}`, requirements: found };
    }
  }
  return { scope: 'default', requirements: policy.default };
}

export function requirementsFor(policy: PolicyDocument, transport: string, identity: string, namespaces: readonly string[]): readonly PolicyRequirement[] {
  return scopeFor(policy, transport, identity, namespaces).requirements;
}

/**
 * Each transport's ValidatePolicyConfigurationScope: docker and unknown transports take any
 * scope; path transports want a clean absolute path other than "/" (that is what "" is for).
 */
function scopeProblem(transport: string, scope: string): string | undefined {
  if (scope === '') return undefined;
  switch (transport) {
    case 'dir':
      return pathScopeProblem(scope);
    case 'oci':
    case 'oci-archive': {
      const colon = scope.indexOf(':');
      return pathScopeProblem(colon === -1 ? scope : scope.slice(0, colon));
    }
    case 'docker-archive':
      return 'docker-archive: takes only the "" scope';
    case 'docker-daemon':
      // Image IDs fall under the "" scope only; a digest cannot name a namespace.
      return isDigest(scope) ? `${JSON.stringify(scope)} is an image ID, which cannot be used as a namespace (image IDs use the "" scope)` : undefined;
    case 'containers-storage':
      return storageScopeProblem(scope);
    default:
      return undefined;
  }
}

function pathScopeProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  if (path === '/') return 'use the "" scope instead of "/"';
  const segments = path.split('/').slice(1);
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return `${JSON.stringify(path)} is not in canonical form`;
  }
  return undefined;
}

function requirementList(value: unknown, source: string, where: string): PolicyRequirement[] {
  if (!Array.isArray(value)) throw invalid(source, `${where} must be an array of requirements`);
  if (value.length === 0) throw invalid(source, `${where} must not be empty`);
  return value.map((entry, i) => requirement(entry, source, `${where}[${i}]`));
}

function requirement(entry: unknown, source: string, where: string): PolicyRequirement {
  if (!isJsonObject(entry) || typeof entry['type'] !== 'string') throw invalid(source, `${where} must be an object with a string "type"`);
  const fields = new Fields(entry, source, where);
  switch (entry['type']) {
    case 'insecureAcceptAnything':
    case 'reject':
      fields.only([]);
      return { type: entry['type'] };
    case 'signedBy': {
      fields.only(['keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity']);
      const keyType = fields.string('keyType');
      if (keyType === undefined) throw invalid(source, `${where}: "keyType" is missing`);
      if (!GPG_KEY_TYPES.includes(keyType)) throw invalid(source, `${where}: unknown keyType ${JSON.stringify(keyType)}`);
      const keys = fields.keySource({ path: 'keyPath', paths: 'keyPaths', data: 'keyData' });
      if (keys === undefined) throw invalid(source, `${where}: one of "keyPath", "keyPaths" or "keyData" is required`);
      const signedIdentity =
        entry['signedIdentity'] === undefined
          ? { type: 'matchRepoDigestOrExact' as const }
          : identity(entry['signedIdentity'], source, `${where}.signedIdentity`);
      return { type: 'signedBy', keyType, keys, signedIdentity };
    }
    case 'sigstoreSigned':
      return sigstoreRequirement(entry, fields, source, where);
    default:
      throw invalid(source, `${where}: unknown requirement type ${JSON.stringify(entry['type'])}`);
  }
}

function sigstoreRequirement(entry: Record<string, unknown>, fields: Fields, source: string, where: string): PolicyRequirement {
  const rekorFields = ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'];
  fields.only(['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki', 'signedIdentity', ...rekorFields]);
  const keys = fields.keySource({ path: 'keyPath', paths: 'keyPaths', data: 'keyData', datas: 'keyDatas' });
  const rekorKeys = fields.keySource({ path: 'rekorPublicKeyPath', paths: 'rekorPublicKeyPaths', data: 'rekorPublicKeyData', datas: 'rekorPublicKeyDatas' });
  const trusts = [keys !== undefined, entry['fulcio'] !== undefined, entry['pki'] !== undefined].filter(Boolean).length;
  if (trusts !== 1) throw invalid(source, `${where}: exactly one of the key fields, "fulcio" or "pki" is required`);
  if (entry['signedIdentity'] === undefined) throw invalid(source, `${where}: "signedIdentity" is required for sigstoreSigned`);
  const signedIdentity = identity(entry['signedIdentity'], source, `${where}.signedIdentity`);
  if (keys !== undefined) return { type: 'sigstoreSigned', trust: { kind: 'keys', keys }, rekorKeys, signedIdentity };
  if (entry['fulcio'] !== undefined) {
    if (rekorKeys === undefined) throw invalid(source, `${where}: "fulcio" needs a Rekor public key (rekorPublicKeyPath or rekorPublicKeyData)`);
    const fulcioWhere = `${where}.fulcio`;
    const value = entry['fulcio'];
    if (!isJsonObject(value)) throw invalid(source, `${fulcioWhere} must be an object`);
    const fulcio = new Fields(value, source, fulcioWhere);
    fulcio.only(['caPath', 'caData', 'oidcIssuer', 'subjectEmail']);
    const ca = fulcio.keySource({ path: 'caPath', data: 'caData' });
    const oidcIssuer = fulcio.string('oidcIssuer');
    const subjectEmail = fulcio.string('subjectEmail');
    if (ca === undefined || !oidcIssuer || !subjectEmail)
      throw invalid(source, `${fulcioWhere} needs one of "caPath"/"caData", "oidcIssuer" and "subjectEmail"`);
    return { type: 'sigstoreSigned', trust: { kind: 'fulcio', fulcio: { ca, oidcIssuer, subjectEmail } }, rekorKeys, signedIdentity };
  }
  if (rekorKeys !== undefined) throw invalid(source, `${where}: "pki" cannot be combined with a Rekor public key`);
  const pkiWhere = `${where}.pki`;
  const value = entry['pki'];
  if (!isJsonObject(value)) throw invalid(source, `${pkiWhere} must be an object`);
  const pki = new Fields(value, source, pkiWhere);
  pki.only(['caRootsPath', 'caRootsData', 'caIntermediatesPath', 'caIntermediatesData', 'subjectEmail', 'subjectHostname']);
  const caRoots = pki.keySource({ path: 'caRootsPath', data: 'caRootsData' });
  if (caRoots === undefined) throw invalid(source, `${pkiWhere} needs one of "caRootsPath" or "caRootsData"`);
  const subjectEmail = pki.string('subjectEmail');
  const subjectHostname = pki.string('subjectHostname');
  if (!subjectEmail && !subjectHostname) throw invalid(source, `${pkiWhere} needs "subjectEmail" or "subjectHostname"`);
  const caIntermediates = pki.keySource({ path: 'caIntermediatesPath', data: 'caIntermediatesData' });
  return { type: 'sigstoreSigned', trust: { kind: 'pki', pki: { caRoots, caIntermediates, subjectEmail, subjectHostname } }, rekorKeys, signedIdentity };
}

function identity(value: unknown, source: string, where: string): SignedIdentity {
  if (!isJsonObject(value) || typeof value['type'] !== 'string') throw invalid(source, `${where} must be an object with a string "type"`);
  const fields = new Fields(value, source, where);
  switch (value['type']) {
    case 'matchExact':
    case 'matchRepoDigestOrExact':
    case 'matchRepository':
      fields.only([]);
      return { type: value['type'] };
    case 'exactReference': {
      fields.only(['dockerReference']);
      const dockerReference = fields.required('dockerReference');
      const parsed = dockerRef(dockerReference, source, `${where}.dockerReference`);
      if (parsed.tag === undefined && parsed.digest === undefined)
        throw invalid(source, `${where}.dockerReference ${JSON.stringify(dockerReference)} has neither a tag nor a digest`);
      return { type: 'exactReference', dockerReference };
    }
    case 'exactRepository': {
      fields.only(['dockerRepository']);
      const dockerRepository = fields.required('dockerRepository');
      dockerRef(dockerRepository, source, `${where}.dockerRepository`);
      return { type: 'exactRepository', dockerRepository };
    }
    case 'remapIdentity': {
      fields.only(['prefix', 'signedPrefix']);
      const prefix = fields.required('prefix');
      const signedPrefix = fields.required('signedPrefix');
      for (const [key, prefixValue] of [
        ['prefix', prefix],
        ['signedPrefix', signedPrefix],
      ] as const) {
        if (!isRemapPrefix(prefixValue)) throw invalid(source, `${where}.${key} ${JSON.stringify(prefixValue)} is neither a host[:port] nor a repository name`);
      }
      return { type: 'remapIdentity', prefix, signedPrefix };
    }
    default:
      throw invalid(source, `${where}: unknown signedIdentity type ${JSON.stringify(value['type'])}`);
  }
}

const HOST_PREFIX = /^[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*(?:\.[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*)*(?::[0-9]+)?$/;

/** containers/image's validateIdentityRemappingPrefix: a host, or a fully spelled-out repository. */
export function isRemapPrefix(value: string): boolean {
  if (HOST_PREFIX.test(value)) return true;
  try {
    const ref = parseDockerReference(value);
    return ref.tag === undefined && ref.digest === undefined && `${ref.domain}/${ref.path}` === value;
  } catch {
    return false;
  }
}

function dockerRef(value: string, source: string, where: string): DockerReference {
  try {
    return parseDockerReference(value);
  } catch (err) {
    throw new ProxyError('policy-invalid', `${source}: ${where}: ${(err as Error).message}`, { cause: err });
  }
}

/** Typed access to one JSON object's fields, with errors that name the file and the key. */
class Fields {
  constructor(
    private readonly object: Record<string, unknown>,
    private readonly source: string,
    private readonly where: string,
  ) {}

  only(keys: readonly string[]): void {
    checkKeys(this.object, ['type', ...keys], [], `${this.source}: ${this.where}`, 'policy-invalid');
  }

  string(key: string): string | undefined {
    const value = this.object[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalid(this.source, `${this.where}.${key} must be a string`);
    return value;
  }

  required(key: string): string {
    const value = this.string(key);
    if (value === undefined) throw invalid(this.source, `${this.where}: ${JSON.stringify(key)} is missing`);
    return value;
  }

  /** At most one of the named fields; base64 data is decoded strictly. */
  keySource(names: { path: string; paths?: string; data: string; datas?: string }): KeySource | undefined {
    const present = Object.values(names).filter((name) => this.object[name] !== undefined);
    if (present.length > 1) throw invalid(this.source, `${this.where}: ${present.map((name) => JSON.stringify(name)).join(' and ')} cannot be combined`);
    const path = this.string(names.path);
    if (path !== undefined) {
      if (path === '') throw invalid(this.source, `${this.where}.${names.path} must not be empty`);
      return { kind: 'paths', paths: [path] };
    }
    if (names.paths !== undefined && this.object[names.paths] !== undefined) {
      return { kind: 'paths', paths: this.list(names.paths) };
    }
    const data = this.string(names.data);
    if (data !== undefined) return { kind: 'data', data: [this.base64(data, names.data)] };
    if (names.datas !== undefined && this.object[names.datas] !== undefined) {
      return { kind: 'data', data: this.list(names.datas).map((item, i) => this.base64(item, `${names.datas}[${i}]`)) };
    }
    return undefined;
  }

  private list(key: string): string[] {
    const value = this.object[key];
    if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string' || item === '')) {
      throw invalid(this.source, `${this.where}.${key} must be a non-empty array of non-empty strings`);
    }
    return value as string[];
  }

  private base64(value: string, key: string): Uint8Array {
    const compact = value.replace(/[\r\n]/g, '');
    if (compact === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      throw invalid(this.source, `${this.where}.${key} is not valid base64`);
    }
    return Buffer.from(compact, 'base64');
  }
}

function invalid(source: string, message: string): ProxyError {
  return new ProxyError('policy-invalid', `${source}: ${message}`);
}
