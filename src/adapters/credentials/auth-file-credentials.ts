/**
 * One auth file (auth.json, config.json or the legacy ~/.dockercfg), looked up exactly as
 * containers/image's `findCredentialsInFile` does:
 *  1. `credHelpers[registry]` (exact host key) → that helper answers for this file;
 *  2. exact keys, most specific first; the first key present answers, even when its entry is
 *     empty: an empty namespaced entry hides the host entry of the same file;
 *  3. every key normalized to a host (old-style URL keys, docker.io aliases).
 * Only a username with a password, or an identity token, counts as found; anything less sends the
 * caller on to the next store, as c/image's walk over the auth files does.
 *
 * The file is read on first lookup, not at construction, and kept for the instance's lifetime.
 */
import { readFile } from 'node:fs/promises';
import { ProxyError } from '../../domain/errors.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';
import {
  type AuthEntry,
  type AuthFileContents,
  authKeyLookupOrder,
  decodeAuthEntry,
  normalizeAuthFileKey,
  normalizeRegistry,
  parseAuthFile,
} from './auth-file-format.js';

/**
 * Runs the credential helper named in a `credHelpers` entry (`docker-credential-<helperName>`)
 * for a registry host. Resolves undefined when the helper has nothing for it.
 */
export type CredentialHelperRunner = (helperName: string, registry: string, signal?: AbortSignal) => Promise<Credentials | undefined>;

export interface AuthFileCredentialsOptions {
  readonly path: string;
  /** The `~/.dockercfg` format: the top level is the auths map; host keys only. */
  readonly legacy: boolean;
  /** Needed only when the file has `credHelpers`; without it such an entry is an error. */
  readonly runHelper?: CredentialHelperRunner | undefined;
}

const NOTHING: AuthFileContents = { auths: new Map(), credHelpers: new Map() };

export class AuthFileCredentials implements CredentialStore {
  private contents: Promise<AuthFileContents> | undefined;

  constructor(private readonly options: AuthFileCredentialsOptions) {}

  async lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined> {
    signal?.throwIfAborted();
    const { registry, repository } = target;
    if (repository !== registry && !repository.startsWith(`${registry}/`)) {
      throw new ProxyError('internal', `repository ${repository} is not on registry ${registry}`);
    }
    const found = await this.find(await this.load(), registry, repository, signal);
    return found !== undefined && isUsable(found) ? found : undefined;
  }

  private async find(contents: AuthFileContents, registry: string, repository: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    const { path, legacy } = this.options;
    const helper = contents.credHelpers.get(registry);
    if (helper !== undefined) return this.runHelper(helper, registry, signal);

    for (const key of authKeyLookupOrder(repository, registry, legacy)) {
      const entry = contents.auths.get(key);
      if (entry !== undefined) return fromEntry(entry, key, path);
    }

    const wanted = normalizeRegistry(registry);
    for (const [key, entry] of contents.auths) {
      if (normalizeAuthFileKey(key, legacy) === wanted) return fromEntry(entry, key, path);
    }
    return undefined;
  }

  private async runHelper(helper: string, registry: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    const run = this.options.runHelper;
    if (run === undefined) {
      throw new ProxyError(
        'credential-helper',
        `auth file ${this.options.path} names credential helper "${helper}" for ${registry}, but credential helpers are not available here`,
      );
    }
    const found = await run(helper, registry, signal);
    return found === undefined
      ? undefined
      : { ...found, source: `${found.source ?? `credential helper docker-credential-${helper}`} (named in credHelpers of auth file ${this.options.path})` };
  }

  // Not tied to a caller's signal: the cached read is shared by every later lookup.
  private load(): Promise<AuthFileContents> {
    this.contents ??= readAuthFile(this.options.path, this.options.legacy);
    return this.contents;
  }
}

async function readAuthFile(path: string, legacy: boolean): Promise<AuthFileContents> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NOTHING;
    throw new ProxyError('config-invalid', `cannot read auth file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  return parseAuthFile(text, legacy, path);
}

/** One entry's credentials, saying which file and key they came from. */
function fromEntry(entry: AuthEntry, key: string, path: string): Credentials {
  return { ...decodeAuthEntry(entry, key, path), source: `auth file ${path}, key ${JSON.stringify(key)}` };
}

function isUsable(credentials: Credentials): boolean {
  return (Boolean(credentials.username) && Boolean(credentials.password)) || Boolean(credentials.identityToken);
}
