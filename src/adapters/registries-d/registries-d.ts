import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { policyIdentity, policyNamespaces } from '../../domain/policy-identity.js';
import { type DockerReference } from '../../domain/reference.js';
import { type SignatureStorageSection } from './registries-d-file.js';

export { type SignatureStorageSection };

/** One `docker:` (or `default-docker:`) section of containers-registries.d(5). */
/** Where a docker image's signatures are looked for. */
export interface SignatureStorage {
  /** Lookaside base URL (`file://…`, `http(s)://…`); the built-in default when nothing is configured. */
  readonly lookaside: string;
  readonly useSigstoreAttachments: boolean;
}

export interface RegistriesDirectoryOptions {
  /** `--registries.d`; undefined → the per-user directory if it exists, else the system one. */
  readonly explicitDir?: string | undefined;
  readonly homeDir: string;
  /** Selects the built-in lookaside default: root's system directory, or the user's own. */
  readonly isRoot: boolean;
}

/**
 * registries.d as containers/image reads it: every `*.yaml` file of one directory, merged; a
 * `default-docker` section or a `docker:` key defined in two files is an error; lookups fall
 * through to less specific sections when the matching one lacks the key (the code's behaviour,
 * more lenient than the man page).
 */
export class RegistriesDirectory {
  private constructor(
    private readonly docker: ReadonlyMap<string, SignatureStorageSection>,
    private readonly defaultDocker: SignatureStorageSection | undefined,
    private readonly builtinLookaside: string,
  ) {}

  static async load(options: RegistriesDirectoryOptions): Promise<RegistriesDirectory> {
    const dir = options.explicitDir ?? (await chooseDirectory(options.homeDir));
    const docker = new Map<string, SignatureStorageSection>();
    const origins = new Map<string, string>();
    let defaultDocker: SignatureStorageSection | undefined;
    let defaultOrigin: string | undefined;
    const builtin = options.isRoot ? 'file:///var/lib/containers/sigstore' : `file://${join(options.homeDir, '.local/share/containers/sigstore')}`;
    const names = await yamlFiles(dir);
    // The YAML parser is loaded only when there is a file to parse: most hosts have none.
    if (names.length === 0) return new RegistriesDirectory(docker, undefined, builtin);
    const { parseRegistriesFile } = await import('./registries-d-file.js');
    for (const name of names) {
      const path = join(dir, name);
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new ProxyError('policy-invalid', `cannot read ${path}: ${err.code ?? err.message}`, { cause: err });
      });
      const parsed = parseRegistriesFile(text, path);
      if (parsed.defaultDocker !== undefined) {
        if (defaultOrigin !== undefined) throw new ProxyError('policy-invalid', `"default-docker" is defined both in ${defaultOrigin} and ${path}`);
        defaultDocker = parsed.defaultDocker;
        defaultOrigin = path;
      }
      for (const [scope, section] of parsed.docker) {
        const origin = origins.get(scope);
        if (origin !== undefined) throw new ProxyError('policy-invalid', `docker namespace ${JSON.stringify(scope)} is defined both in ${origin} and ${path}`);
        docker.set(scope, section);
        origins.set(scope, path);
      }
    }
    return new RegistriesDirectory(docker, defaultDocker, builtin);
  }

  /** Storage for the image actually contacted (the mirror's reference, not the logical one). */
  storageFor(reference: DockerReference): SignatureStorage {
    const sections = this.sectionsFor(reference);
    const lookaside = firstDefined(sections, (section) => section.lookaside || section.sigstore || undefined) ?? this.builtinLookaside;
    const useSigstoreAttachments = firstDefined(sections, (section) => section.useSigstoreAttachments) ?? false;
    return { lookaside, useSigstoreAttachments };
  }

  private sectionsFor(reference: DockerReference): SignatureStorageSection[] {
    const ref = {
      transport: 'docker' as const,
      docker: reference.tag === undefined && reference.digest === undefined ? { ...reference, tag: 'latest' } : reference,
    };
    const scopes = [policyIdentity(ref), ...policyNamespaces(ref)];
    const sections = scopes.map((scope) => this.docker.get(scope)).filter((section) => section !== undefined);
    if (this.defaultDocker !== undefined) sections.push(this.defaultDocker);
    return sections;
  }
}

async function chooseDirectory(homeDir: string): Promise<string> {
  const user = join(homeDir, '.config/containers/registries.d');
  const exists = await stat(user).then(
    () => true,
    () => false,
  );
  return exists ? user : '/etc/containers/registries.d';
}

async function yamlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ProxyError('policy-invalid', `cannot read registries.d directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

function firstDefined<T>(sections: readonly SignatureStorageSection[], pick: (section: SignatureStorageSection) => T | undefined): T | undefined {
  for (const section of sections) {
    const value = pick(section);
    if (value !== undefined) return value;
  }
  return undefined;
}
