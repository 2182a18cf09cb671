import { isDigest, type Digest } from './digest.js';
import { ProxyError } from './errors.js';
import { GoTypes as T, goUnmarshal, type GoStruct, type GoType } from './go-json.js';
import { MediaType } from './media-types.js';

/** A content descriptor as OCI and docker schema2 manifests write it. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[] | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** An image index entry's platform (a Platform, spelled out so platform.ts can depend on this file). */
  readonly platform?: DescriptorPlatform | undefined;
}

export interface DescriptorPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

interface ImageManifestParts {
  /** The declared (normalized) media type the document was parsed as. */
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export type ParsedManifest =
  | ({ readonly kind: 'oci-manifest' } & ImageManifestParts)
  | ({ readonly kind: 'docker-schema2' } & ImageManifestParts)
  | { readonly kind: 'oci-index'; readonly mediaType: string; readonly manifests: readonly Descriptor[] }
  | { readonly kind: 'docker-list'; readonly mediaType: string; readonly manifests: readonly Descriptor[] }
  | { readonly kind: 'docker-schema1'; readonly mediaType: string };

export type ManifestList = ParsedManifest & { readonly kind: 'oci-index' | 'docker-list' };

const KNOWN_MANIFEST_TYPES: readonly string[] = [
  MediaType.dockerSchema1,
  MediaType.dockerSchema1Signed,
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerSchema2,
  MediaType.dockerList,
];

/**
 * The manifest type a Content-Type declares, as containers/image derives it: parameters
 * stripped and the type lower-cased (Go's mime.ParseMediaType), then anything it does not
 * know — an empty or unparsable header, `application/json` — taken as signed schema1.
 */
export function normalizeManifestMediaType(contentType: string): string {
  const type = parseMediaTypeLikeGo(contentType);
  return KNOWN_MANIFEST_TYPES.includes(type) ? type : MediaType.dockerSchema1Signed;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const ESSENCE = new RegExp(`^\\s*(${TOKEN}/${TOKEN})\\s*(?=;|$)`);
const PARAMETER = new RegExp(`^;\\s*(${TOKEN})\\s*=\\s*(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")\\s*`);

/** Go's mime.ParseMediaType as containers/image uses it: the lower-cased type, or '' on any error. */
function parseMediaTypeLikeGo(contentType: string): string {
  const essence = ESSENCE.exec(contentType);
  if (!essence) return '';
  let rest = contentType.slice(essence[0].length);
  const seen = new Set<string>();
  while (rest !== '') {
    const parameter = PARAMETER.exec(rest);
    if (!parameter) return /^;\s*$/.test(rest) ? essence[1]!.toLowerCase() : '';
    const name = parameter[1]!.toLowerCase();
    if (seen.has(name)) return '';
    seen.add(name);
    rest = rest.slice(parameter[0].length);
  }
  return essence[1]!.toLowerCase();
}

const GUESS_META = T.struct({ key: 'mediaType', type: T.string }, { key: 'schemaVersion', type: T.int }, { key: 'signatures', type: T.any });
const GUESS_CONFIG = T.struct({ key: 'config', type: T.struct({ key: 'mediaType', type: T.string }) });

/**
 * containers/image's GuessMIMEType, for sources that store no media type (OCI layouts, dir:):
 * an explicit known `mediaType`, else the schema version and the config's media type decide.
 * Returns '' for anything it cannot tell.
 */
export function guessManifestMediaType(bytes: Uint8Array): string {
  const meta = tryDecode(bytes, GUESS_META);
  if (meta === undefined) return '';
  const declared = meta['mediaType'] as string;
  if ([MediaType.dockerSchema2, MediaType.dockerList, MediaType.ociManifest, MediaType.ociIndex].includes(declared as never)) return declared;
  if (meta['schemaVersion'] === 1) return meta['signatures'] !== null ? MediaType.dockerSchema1Signed : MediaType.dockerSchema1;
  if (meta['schemaVersion'] !== 2) return '';
  const configType = (tryDecode(bytes, GUESS_CONFIG)?.['config'] as GoStruct | undefined)?.['mediaType'];
  if (configType === undefined) return '';
  if (configType === MediaType.ociConfig) return MediaType.ociManifest;
  if (configType === MediaType.dockerConfig) return MediaType.dockerSchema2;
  const index = tryDecode(bytes, T.struct({ key: 'manifests', type: T.slice(INDEX_DESCRIPTOR) }));
  if (index === undefined) return '';
  if ((index['manifests'] as unknown[] | null)?.length) return configType === '' ? MediaType.ociIndex : (configType as string);
  return MediaType.ociManifest;
}

function tryDecode(bytes: Uint8Array, type: GoType): GoStruct | undefined {
  try {
    return goUnmarshal(bytes, type) as GoStruct;
  } catch {
    return undefined;
  }
}

const PLATFORM_FIELDS = [
  { key: 'architecture', type: T.string },
  { key: 'os', type: T.string },
  { key: 'os.version', type: T.string },
  { key: 'os.features', type: T.slice(T.string) },
  { key: 'variant', type: T.string },
];
const DESCRIPTOR_FIELDS = [
  { key: 'mediaType', type: T.string },
  { key: 'digest', type: T.string },
  { key: 'size', type: T.int },
  { key: 'urls', type: T.slice(T.string) },
];
const OCI_DESCRIPTOR = T.struct(...DESCRIPTOR_FIELDS, { key: 'annotations', type: T.map(T.string) });
const INDEX_DESCRIPTOR = T.struct(
  ...DESCRIPTOR_FIELDS,
  { key: 'annotations', type: T.map(T.string) },
  { key: 'platform', type: T.ptr(T.struct(...PLATFORM_FIELDS)) },
);
// A docker list's platform is not a pointer in Go: an entry without one has OS and architecture "".
const LIST_DESCRIPTOR = T.struct(...DESCRIPTOR_FIELDS, { key: 'platform', type: T.struct(...PLATFORM_FIELDS, { key: 'features', type: T.slice(T.string) }) });

/** The fields containers/image's ValidateUnambiguousManifestFormat looks for. */
const SHAPE_FIELDS = ['config', 'fsLayers', 'history', 'layers', 'manifests'] as const;
type ShapeField = (typeof SHAPE_FIELDS)[number];
const SHAPE = T.struct(...SHAPE_FIELDS.map((key) => ({ key, type: T.any })));

/** Every type containers/image accepts in a schema2 manifest (SupportedSchema2MediaType, container-libs). */
// prettier-ignore
const SCHEMA2_TYPES: readonly string[] = [
  MediaType.dockerList, MediaType.dockerSchema1, MediaType.dockerSchema1Signed, MediaType.dockerConfig,
  MediaType.dockerForeignLayerTar, MediaType.dockerForeignLayerGzip, MediaType.dockerLayerGzip,
  MediaType.dockerSchema2, MediaType.dockerLayerTar, MediaType.dockerLayerZstd,
];

const VERSIONED = [
  { key: 'schemaVersion', type: T.int },
  { key: 'mediaType', type: T.string },
];
const IMAGE_MANIFEST = T.struct(...VERSIONED, { key: 'config', type: T.ptr(OCI_DESCRIPTOR) }, { key: 'layers', type: T.slice(OCI_DESCRIPTOR) });

const SCHEMAS: Readonly<Record<string, { readonly kind: ParsedManifest['kind']; readonly type: GoType; readonly allowed: readonly ShapeField[] }>> = {
  [MediaType.ociManifest]: { kind: 'oci-manifest', allowed: ['config', 'layers'], type: IMAGE_MANIFEST },
  [MediaType.dockerSchema2]: { kind: 'docker-schema2', allowed: ['config', 'layers'], type: IMAGE_MANIFEST },
  [MediaType.ociIndex]: { kind: 'oci-index', allowed: ['manifests'], type: T.struct(...VERSIONED, { key: 'manifests', type: T.slice(INDEX_DESCRIPTOR) }) },
  [MediaType.dockerList]: { kind: 'docker-list', allowed: ['manifests'], type: T.struct(...VERSIONED, { key: 'manifests', type: T.slice(LIST_DESCRIPTOR) }) },
};

/**
 * Parses and validates a manifest of the given (declared) media type, decoding JSON the way Go
 * does. Schema1 is only recognised and sanity-checked: callers refuse it.
 */
export function parseManifest(bytes: Uint8Array, mediaType: string): ParsedManifest {
  const declared = normalizeManifestMediaType(mediaType);
  const schema = SCHEMAS[declared];
  if (!schema) return parseSchema1(bytes, declared);
  const doc = decodeManifest(bytes, schema.type, declared);
  rejectAmbiguous(bytes, declared, schema.allowed);
  if (doc['schemaVersion'] !== 2) throw invalid(declared, `schemaVersion is ${String(doc['schemaVersion'])}, not 2`);
  const field = doc['mediaType'] as string;
  // containers/image requires the field in schema2 only; a value naming another type is refused
  // everywhere (distribution-spec: clients SHOULD reject a mediaType that contradicts Content-Type).
  if (field !== '' ? field !== declared : schema.kind === 'docker-schema2') {
    throw invalid(declared, field === '' ? 'its mediaType field is missing' : `its mediaType field says ${JSON.stringify(field)}`);
  }
  if (schema.kind === 'oci-index' || schema.kind === 'docker-list') {
    const entries = requireArray(doc['manifests'], 'manifests', declared);
    // containers/image reads list entries without a mediaType: the instance's own type decides.
    return { kind: schema.kind, mediaType: declared, manifests: entries.map((entry, i) => descriptor(entry, `manifests[${i}]`, declared, { untyped: true })) };
  }
  if (doc['config'] === null) throw invalid(declared, 'config is missing');
  const config = descriptor(doc['config'] as GoStruct, 'config', declared);
  const layers = requireArray(doc['layers'], 'layers', declared).map((entry, i) => descriptor(entry, `layers[${i}]`, declared));
  if (schema.kind === 'docker-schema2') {
    for (const [where, d] of [['config', config] as const, ...layers.map((d, i) => [`layers[${i}]`, d] as const)]) {
      if (!SCHEMA2_TYPES.includes(d.mediaType)) throw invalid(declared, `${where} has unsupported docker v2s2 media type ${JSON.stringify(d.mediaType)}`);
    }
  }
  return { kind: schema.kind, mediaType: declared, config, layers };
}

const SCHEMA1 = T.struct({ key: 'schemaVersion', type: T.int }, { key: 'fsLayers', type: T.slice(T.any) }, { key: 'history', type: T.slice(T.any) });

function parseSchema1(bytes: Uint8Array, declared: string): ParsedManifest {
  const doc = decodeManifest(bytes, SCHEMA1, declared);
  if (doc['schemaVersion'] !== 1) {
    const looksLike = guessManifestMediaType(bytes);
    throw invalid(
      declared,
      `schemaVersion is ${String(doc['schemaVersion'])}, not 1${looksLike ? ` (the document looks like ${looksLike}: check the declared media type)` : ''}`,
    );
  }
  const fsLayers = (doc['fsLayers'] as unknown[] | null) ?? [];
  const history = (doc['history'] as unknown[] | null) ?? [];
  if (fsLayers.length === 0 || fsLayers.length !== history.length) {
    throw invalid(declared, `fsLayers (${fsLayers.length}) and history (${history.length}) must have the same, non-zero length`);
  }
  return { kind: 'docker-schema1', mediaType: declared };
}

function decodeManifest(bytes: Uint8Array, type: GoType, declared: string): GoStruct {
  try {
    return goUnmarshal(bytes, type) as GoStruct;
  } catch (err) {
    throw invalid(declared, err instanceof Error ? err.message : String(err), err);
  }
}

function rejectAmbiguous(bytes: Uint8Array, declared: string, allowed: readonly ShapeField[]): void {
  const shape = decodeManifest(bytes, SHAPE, declared);
  const unexpected = SHAPE_FIELDS.filter((key) => shape[key] !== null && !allowed.includes(key));
  if (unexpected.length > 0) throw invalid(declared, `rejecting ambiguous manifest, unexpected fields ${unexpected.join(', ')}`);
}

function requireArray(value: unknown, name: string, declared: string): readonly GoStruct[] {
  if (value === null) throw invalid(declared, `${name} is missing`);
  return value as GoStruct[];
}

function descriptor(d: GoStruct, where: string, declared: string, allow: { untyped?: boolean } = {}): Descriptor {
  const mediaType = d['mediaType'] as string;
  const digest = d['digest'] as string;
  const size = d['size'] as number;
  if (mediaType === '' && !allow.untyped) throw invalid(declared, `${where} has no mediaType`);
  if (!isDigest(digest)) throw invalid(declared, `${where} has invalid digest ${JSON.stringify(digest)}`);
  if (size < 0) throw invalid(declared, `${where} has negative size ${size}`);
  const urls = d['urls'] as string[] | null;
  const annotations = d['annotations'] as Map<string, string> | null | undefined;
  const platform = d['platform'] as GoStruct | null | undefined;
  return {
    mediaType,
    digest,
    size,
    ...(urls !== null ? { urls } : {}),
    ...(annotations ? { annotations: Object.fromEntries(annotations) } : {}),
    ...(platform ? { platform: platformOf(platform) } : {}),
  };
}

function platformOf(p: GoStruct): DescriptorPlatform {
  const variant = p['variant'] as string;
  const osVersion = p['os.version'] as string;
  const osFeatures = p['os.features'] as string[] | null;
  return {
    architecture: p['architecture'] as string,
    os: p['os'] as string,
    ...(variant !== '' ? { variant } : {}),
    ...(osVersion !== '' ? { 'os.version': osVersion } : {}),
    ...(osFeatures !== null ? { 'os.features': osFeatures } : {}),
  };
}

function invalid(declared: string, problem: string, cause?: unknown): ProxyError {
  return new ProxyError('manifest-invalid', `invalid ${declared} manifest: ${problem}`, cause === undefined ? undefined : { cause });
}
