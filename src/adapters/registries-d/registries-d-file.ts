import { type Document, parseDocument } from 'yaml';
import { ProxyError } from '../../domain/errors.js';

/** One `docker:` or `default-docker` section of a registries.d file. */
export interface SignatureStorageSection {
  readonly lookaside?: string | undefined;
  /** The deprecated spelling of `lookaside`; used when `lookaside` is absent. */
  readonly sigstore?: string | undefined;
  readonly useSigstoreAttachments?: boolean | undefined;
}

/**
 * Parses one registries.d file. A module of its own so that the YAML parser is loaded only when
 * a registries.d file exists.
 */
export function parseRegistriesFile(
  text: string,
  path: string,
): { defaultDocker: SignatureStorageSection | undefined; docker: Map<string, SignatureStorageSection> } {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const problem = document.errors[0];
  if (problem !== undefined) throw new ProxyError('policy-invalid', `${path}: invalid YAML: ${problem.message}`);
  const value = toValue(document, path);
  const docker = new Map<string, SignatureStorageSection>();
  if (value === null || value === undefined) return { defaultDocker: undefined, docker };
  if (!isMapping(value)) throw new ProxyError('policy-invalid', `${path}: the top level must be a mapping`);
  // Like containers/image (yaml.Unmarshal, not strict), keys this program does not use are ignored.
  const defaultDocker =
    value['default-docker'] === undefined || value['default-docker'] === null ? undefined : section(value['default-docker'], path, 'default-docker');
  const sections = value['docker'];
  if (sections !== undefined && sections !== null) {
    if (!isMapping(sections)) throw new ProxyError('policy-invalid', `${path}: "docker" must be a mapping of namespaces`);
    for (const [scope, entry] of Object.entries(sections)) docker.set(scope, entry === null ? {} : section(entry, path, `docker.${scope}`));
  }
  return { defaultDocker, docker };
}

function section(value: unknown, path: string, where: string): SignatureStorageSection {
  if (!isMapping(value)) throw new ProxyError('policy-invalid', `${path}: ${where} must be a mapping`);
  const text = (key: string): string | undefined => {
    const field = value[key];
    if (field === undefined || field === null) return undefined;
    if (typeof field !== 'string') throw new ProxyError('policy-invalid', `${path}: ${where}.${key} must be a string`);
    return field;
  };
  const attachments = value['use-sigstore-attachments'];
  if (attachments !== undefined && attachments !== null && typeof attachments !== 'boolean') {
    throw new ProxyError('policy-invalid', `${path}: ${where}.use-sigstore-attachments must be true or false`);
  }
  const lookaside = text('lookaside');
  const sigstore = text('sigstore');
  text('lookaside-staging');
  text('sigstore-staging');
  for (const [key, url] of [
    ['lookaside', lookaside],
    ['sigstore', sigstore],
  ] as const) {
    if (url !== undefined && url !== '' && !URL.canParse(url))
      throw new ProxyError('policy-invalid', `${path}: ${where}.${key} ${JSON.stringify(url)} is not a URL`);
  }
  return { lookaside, sigstore, useSigstoreAttachments: attachments ?? undefined };
}

/**
 * The document as plain values. Building them is where aliases are resolved, and the yaml
 * package reports an alias to an anchor not yet set, or one expanding beyond its limit (an
 * alias bomb), by throwing ReferenceError: a broken file all the same.
 */
function toValue(document: Document.Parsed, path: string): unknown {
  try {
    return document.toJS();
  } catch (err) {
    throw new ProxyError('policy-invalid', `${path}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
