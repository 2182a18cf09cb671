import { type DockerReference } from '../reference.js';

/** Which pulls a mirror serves (`pull-from-mirror`); `all` also stands for the empty value. */
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

/** A mirror of one `[[registry]]`: contacted before the primary, with its own TLS setting. */
export interface MirrorEntry {
  readonly location: string;
  readonly insecure: boolean;
  readonly pullFromMirror: PullFromMirror;
}

/** One validated `[[registry]]` table, prefix and location normalized. */
export interface RegistryEntry {
  /** A repository namespace (`example.com/foo`) or a host wildcard (`*.example.com`). */
  readonly prefix: string;
  /** Where the primary really is; '' only for a wildcard prefix (pull from the name as given). */
  readonly location: string;
  readonly insecure: boolean;
  readonly blocked: boolean;
  readonly mirrorByDigestOnly: boolean;
  readonly mirrors: readonly MirrorEntry[];
  /** The file this entry came from, for messages. */
  readonly origin: string;
}

/**
 * One file after validation. An optional field is absent when the file does not set it, which
 * matters for drop-ins: only what a drop-in sets replaces what came before.
 */
export interface RegistriesConfFile {
  readonly path: string;
  /** Deduplicated (first prefix wins) and sorted by prefix. */
  readonly registries: readonly RegistryEntry[];
  readonly unqualifiedSearchRegistries?: readonly string[] | undefined;
  readonly credentialHelpers?: readonly string[] | undefined;
  readonly shortNameMode?: ShortNameMode | undefined;
  readonly additionalLayerStoreAuthHelper?: string | undefined;
  /** Short name → fully qualified name; `undefined` erases an alias set by an earlier file. */
  readonly aliases: ReadonlyMap<string, DockerReference | undefined>;
}

/** The effective configuration: the main file with every drop-in merged in, defaults applied. */
export interface RegistriesConf {
  /** Sorted by prefix: on a tie in prefix length, the lexically first prefix wins. */
  readonly registries: readonly RegistryEntry[];
  readonly unqualifiedSearchRegistries: readonly string[];
  readonly credentialHelpers: readonly string[];
  readonly shortNameMode: ShortNameMode;
  readonly aliases: ReadonlyMap<string, DockerReference>;
}

/** The reserved `credential-helpers` name of the auth-file chain. */
export const AUTH_FILE_HELPER = 'containers-auth.json';

export const EMPTY_REGISTRIES_CONF: RegistriesConf = {
  registries: [],
  unqualifiedSearchRegistries: [],
  credentialHelpers: [AUTH_FILE_HELPER],
  shortNameMode: 'permissive',
  aliases: new Map(),
};
