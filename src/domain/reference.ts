import { type Digest, isDigest, parseDigest } from './digest.js';
import { type DockerReference, dockerString } from './docker-name.js';
import { ProxyError } from './errors.js';
import { formatStorageReference, parseStorageReference, type StorageReference } from './storage-reference.js';

export { type DockerReference, dockerName, dockerString } from './docker-name.js';

export type TransportName = 'docker' | 'oci' | 'dir' | 'oci-archive' | 'docker-archive' | 'docker-daemon' | 'containers-storage';

/** An image name `transport:reference` split into its parts (containers-transports(5)). */
export type ImageReference =
  | { readonly transport: 'docker'; readonly docker: DockerReference }
  | { readonly transport: 'oci'; readonly path: string; readonly reference?: string | undefined; readonly index?: number | undefined }
  | { readonly transport: 'dir'; readonly path: string }
  | { readonly transport: 'oci-archive'; readonly path: string; readonly reference?: string | undefined }
  | { readonly transport: 'docker-archive'; readonly path: string; readonly docker?: DockerReference | undefined; readonly index?: number | undefined }
  /** Exactly one of `docker` (NAME:TAG) and `imageId` (the config digest) is set. */
  | { readonly transport: 'docker-daemon'; readonly docker?: DockerReference | undefined; readonly imageId?: Digest | undefined }
  | StorageReference;

export { type StorageReference, type StoreSpec } from './storage-reference.js';

// The grammar of containers/image's docker/reference/regexp.go. Go's patterns allow an empty
// dash separator (`[-]*`), which is harmless for RE2 but backtracks exponentially in JavaScript;
// these accept exactly the same strings with unambiguous separators.
const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH = `${NAME_COMPONENT}(?:/${NAME_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_PATTERN = new RegExp(`^((?:${DOMAIN}/)?${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_PATTERN = new RegExp(`^(?:(${DOMAIN})/)?(${PATH})$`);
const IMAGE_ID_PATTERN = /^[a-f0-9]{64}$/;
const NAME_LENGTH_LIMIT = 255;
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_NAMESPACE = 'library';
const DEFAULT_TAG = 'latest';
const GRAMMAR_HINT =
  'not a valid docker reference, expected [HOST[:PORT]/]PATH[:TAG][@DIGEST] with lower-case path components separated by ".", "_", "__" or "-"';

/** What is wrong with a reference; public functions turn it into an error that quotes their whole input. */
class ReferenceProblem extends Error {}

function invalidReference(input: string, problem: ReferenceProblem): ProxyError {
  return new ProxyError('invalid-reference', `invalid image reference ${JSON.stringify(input)}: ${problem.message}`);
}

function reportingAgainst<T>(input: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ReferenceProblem) throw invalidReference(input, err);
    throw err;
  }
}

/** A match of the grammar without normalization (Go's `reference.Parse`); domain is '' when absent. */
interface RawReference {
  readonly domain: string;
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
}

function parseRaw(value: string): RawReference {
  const match = REFERENCE_PATTERN.exec(value);
  if (!match) {
    if (value === '') throw new ReferenceProblem('the reference is empty');
    if (REFERENCE_PATTERN.test(value.toLowerCase())) throw new ReferenceProblem('repository name must be lowercase');
    throw new ReferenceProblem(GRAMMAR_HINT);
  }
  const [, name = '', tag, digest] = match;
  if (name.length > NAME_LENGTH_LIMIT) {
    throw new ReferenceProblem(`the repository name is ${name.length} characters long, at most ${NAME_LENGTH_LIMIT} are allowed`);
  }
  const [, domain = '', path = ''] = NAME_PATTERN.exec(name) ?? [];
  return { domain, path, tag, digest: digest === undefined ? undefined : validDigest(digest) };
}

function validDigest(value: string): Digest {
  try {
    return parseDigest(value);
  } catch (err) {
    throw new ReferenceProblem((err as Error).message);
  }
}

/** Go's splitDockerDomain: the first component is a host only if it looks like one. */
function splitDockerDomain(value: string): { domain: string; remainder: string } {
  const slash = value.indexOf('/');
  const first = slash === -1 ? '' : value.slice(0, slash);
  let domain = DEFAULT_DOMAIN;
  let remainder = value;
  if (slash !== -1 && (/[.:]/.test(first) || first === 'localhost')) {
    domain = first;
    remainder = value.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = `${OFFICIAL_NAMESPACE}/${remainder}`;
  return { domain, remainder };
}

function normalize(value: string): DockerReference {
  if (value === '') throw new ReferenceProblem('the reference is empty');
  if (IMAGE_ID_PATTERN.test(value)) throw new ReferenceProblem('a 64-character hexadecimal string is an image ID, not a repository name');
  const { domain, remainder } = splitDockerDomain(value);
  const colon = remainder.indexOf(':');
  const repository = colon === -1 ? remainder : remainder.slice(0, colon);
  if (repository.toLowerCase() !== repository) throw new ReferenceProblem('repository name must be lowercase');
  const raw = parseRaw(`${domain}/${remainder}`);
  // Go would fall back to reading an invalid host as a path component and produce a reference
  // with no registry at all; nothing could be pulled from it, so it is refused here.
  if (raw.domain === '') throw new ReferenceProblem(`${JSON.stringify(domain)} is not a valid registry host`);
  return compact({ domain: raw.domain, path: raw.path, tag: raw.tag, digest: raw.digest });
}

function compact(ref: DockerReference): DockerReference {
  return {
    domain: ref.domain,
    path: ref.path,
    ...(ref.tag === undefined ? {} : { tag: ref.tag }),
    ...(ref.digest === undefined ? {} : { digest: ref.digest }),
  };
}

/** Go's ParseNormalizedNamed: `busybox` → `docker.io/library/busybox`; adds no tag. */
export function parseDockerReference(value: string): DockerReference {
  return reportingAgainst(value, () => normalize(value));
}

/** Go's ParseNamed: like parseDockerReference, but the input must already be in normalized form. */
export function parseCanonicalDockerReference(value: string): DockerReference {
  const ref = parseDockerReference(value);
  const canonical = dockerString(ref);
  if (canonical !== value) {
    throw invalidReference(value, new ReferenceProblem(`repository name must be canonical (${JSON.stringify(canonical)})`));
  }
  return ref;
}

/** Go's TagNameOnly: a reference with neither tag nor digest means `:latest`. */
export function withDefaultTag(ref: DockerReference): DockerReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/**
 * containers/image's shortnames.IsShortName: parsed without normalization, a name is short unless
 * its first component contains "." or ":" or is "localhost". Input that does not parse is not short.
 */
export function isShortName(value: string): boolean {
  try {
    const { domain } = parseRaw(value);
    return !/[.:]/.test(domain) && domain !== 'localhost';
  } catch (err) {
    if (err instanceof ReferenceProblem) return false;
    throw err;
  }
}

const SUPPORTED_TRANSPORTS: readonly TransportName[] = ['docker', 'oci', 'dir', 'oci-archive', 'docker-archive', 'docker-daemon', 'containers-storage'];
/** Transports containers/image knows that this proxy cannot serve. */
const UNSUPPORTED_TRANSPORTS: ReadonlySet<string> = new Set(['sif', 'tarball', 'ostree']);
const SUPPORTED_LIST = `supported transports: ${SUPPORTED_TRANSPORTS.join(', ')}`;
/** Only meaningful when pushing an image whose digest is not known yet. */
const UNKNOWN_DIGEST_SUFFIX = '@@unknown-digest@@';
// The OCI `org.opencontainers.image.ref.name` grammar containers/image checks `oci:` names against.
const OCI_NAME_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const OCI_NAME_PATTERN = new RegExp(`^${OCI_NAME_COMPONENT}(?:/${OCI_NAME_COMPONENT})*$`);

const PARSERS: ReadonlyMap<string, (within: string) => ImageReference> = new Map<TransportName, (within: string) => ImageReference>([
  ['docker', parseDockerTransport],
  ['oci', parseOciLayout],
  ['dir', (within) => ({ transport: 'dir', path: requirePath(within, 'dir') })],
  ['oci-archive', parseOciArchive],
  ['docker-archive', parseDockerArchive],
  ['docker-daemon', parseDockerDaemon],
  ['containers-storage', parseStorageTransport],
]);

/**
 * containers/image's alltransports.ParseImageName: `transport:reference`, split at the first ":".
 * Paths are kept as written; resolving relative ones is the caller's business.
 */
export function parseImageName(value: string): ImageReference {
  const quoted = JSON.stringify(value);
  const colon = value.indexOf(':');
  if (colon === -1) {
    throw new ProxyError('invalid-reference', `invalid image reference ${quoted}: expected TRANSPORT:REFERENCE${dockerSuggestion(value)} (${SUPPORTED_LIST})`);
  }
  const transport = value.slice(0, colon);
  const parse = PARSERS.get(transport);
  if (parse === undefined) {
    if (UNSUPPORTED_TRANSPORTS.has(transport)) {
      throw new ProxyError(
        'unsupported-transport',
        `image reference ${quoted} uses the ${transport} transport, which this proxy does not support (${SUPPORTED_LIST})`,
      );
    }
    throw new ProxyError(
      'invalid-reference',
      `invalid image reference ${quoted}: unknown transport ${JSON.stringify(transport)}${dockerSuggestion(value)} (${SUPPORTED_LIST})`,
    );
  }
  return reportingAgainst(value, () => parse(value.slice(colon + 1)));
}

/** The inverse of parseImageName; docker references come out fully normalized. */
export function formatImageName(ref: ImageReference): string {
  switch (ref.transport) {
    case 'docker':
      return `docker://${dockerString(ref.docker)}`;
    case 'oci':
      return `oci:${ref.path}${ref.reference !== undefined ? `:${ref.reference}` : indexSuffix(ref.index)}`;
    case 'dir':
      return `dir:${ref.path}`;
    case 'oci-archive':
      return `oci-archive:${ref.path}${ref.reference !== undefined ? `:${ref.reference}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.docker !== undefined ? `:${dockerString(ref.docker)}` : indexSuffix(ref.index)}`;
    case 'docker-daemon':
      return `docker-daemon:${ref.docker !== undefined ? dockerString(ref.docker) : ref.imageId}`;
    case 'containers-storage':
      return `containers-storage:${formatStorageReference(ref)}`;
  }
}

function indexSuffix(index: number | undefined): string {
  return index === undefined ? '' : `:@${index}`;
}

/** Someone who typed `busybox:latest` most likely meant the docker transport. */
function dockerSuggestion(value: string): string {
  try {
    normalize(value);
    return `; did you mean "docker://${value}"?`;
  } catch {
    return '';
  }
}

function parseDockerTransport(within: string): ImageReference {
  if (!within.startsWith('//')) throw new ReferenceProblem('the docker transport needs "//" before the reference, as in docker://busybox');
  const body = within.slice(2);
  if (body.endsWith(UNKNOWN_DIGEST_SUFFIX)) throw new ReferenceProblem(`${UNKNOWN_DIGEST_SUFFIX} is only meaningful when pushing`);
  const ref = normalize(body);
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw new ReferenceProblem('Docker references with both a tag and digest are currently not supported');
  }
  return { transport: 'docker', docker: withDefaultTag(ref) };
}

function parseStorageTransport(within: string): ImageReference {
  return parseStorageReference(within, {
    parseName: (name) => withDefaultTag(normalize(name)),
    problem: (message) => new ReferenceProblem(message),
  });
}

function parseOciLayout(within: string): ImageReference {
  const [path, name] = cutAtColon(within);
  requirePath(path, 'oci');
  if (name.startsWith('@')) return { transport: 'oci', path, index: parseSourceIndex(name.slice(1)) };
  return name === '' ? { transport: 'oci', path } : { transport: 'oci', path, reference: validOciName(name) };
}

function parseOciArchive(within: string): ImageReference {
  const [path, name] = cutAtColon(within);
  requirePath(path, 'oci-archive');
  return name === '' ? { transport: 'oci-archive', path } : { transport: 'oci-archive', path, reference: validOciName(name) };
}

function parseDockerArchive(within: string): ImageReference {
  const colon = within.indexOf(':');
  const path = requirePath(colon === -1 ? within : within.slice(0, colon), 'docker-archive');
  if (colon === -1) return { transport: 'docker-archive', path };
  const rest = within.slice(colon + 1);
  if (rest.startsWith('@')) return { transport: 'docker-archive', path, index: parseSourceIndex(rest.slice(1)) };
  const ref = normalize(rest);
  if (ref.digest !== undefined) throw new ReferenceProblem('a docker-archive reference must not contain a digest');
  return { transport: 'docker-archive', path, docker: withDefaultTag(ref) };
}

/**
 * containers/image's docker-daemon ParseReference: `sha256:IMAGE-ID` (an `algo:hex` string reads
 * like NAME:TAG, so the digest form is tried first) or NAME:TAG. A bare name would make the
 * engine export every tag of the repository, so a tag is required.
 */
function parseDockerDaemon(within: string): ImageReference {
  if (isDigest(within)) {
    if (!within.startsWith('sha256:')) throw new ReferenceProblem('only sha256 image IDs are accepted');
    return { transport: 'docker-daemon', imageId: within };
  }
  const ref = normalize(within);
  if (ref.domain === DEFAULT_DOMAIN && ref.path === `${OFFICIAL_NAMESPACE}/sha256`) {
    throw new ReferenceProblem('the sha256 repository name is reserved for image IDs, which are sha256: and 64 lower-case hex characters');
  }
  if (ref.digest !== undefined) {
    // containers/image accepts this form and then always fails: the engine finds the image by its
    // registry digest, but the manifest made from the export is another document with another digest.
    throw new ReferenceProblem(
      "a docker-daemon: image cannot be named by digest, since the manifest made from the engine's export never has the registry's digest; use NAME:TAG or sha256:IMAGE-ID",
    );
  }
  if (ref.tag === undefined) throw new ReferenceProblem('a docker-daemon: reference needs a tag (NAME:TAG) or an image ID (sha256:IMAGE-ID)');
  return { transport: 'docker-daemon', docker: ref };
}

/** The path ends at the first ":", so a path containing one cannot be written. */
function cutAtColon(within: string): [string, string] {
  const colon = within.indexOf(':');
  return colon === -1 ? [within, ''] : [within.slice(0, colon), within.slice(colon + 1)];
}

function requirePath(path: string, transport: TransportName): string {
  if (path === '') throw new ReferenceProblem(`the ${transport} path is empty`);
  return path;
}

function validOciName(name: string): string {
  if (!OCI_NAME_PATTERN.test(name)) {
    throw new ReferenceProblem(
      `${JSON.stringify(name)} is not a valid OCI reference name (alphanumerics separated by one of "-._:@+" or "--", in "/"-separated components)`,
    );
  }
  return name;
}

/** `@N` after the path: strconv.Atoi as containers/image uses it, so an optional sign is accepted. */
function parseSourceIndex(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new ReferenceProblem(`source index "@${text}" is not an integer`);
  const index = Number(text);
  if (index < 0) throw new ReferenceProblem(`source index "@${text}" must not be negative`);
  if (!Number.isSafeInteger(index)) throw new ReferenceProblem(`source index "@${text}" is too large`);
  // `@-0` means index 0; adding 0 turns -0 into +0 so it compares and prints as 0.
  return index + 0;
}
