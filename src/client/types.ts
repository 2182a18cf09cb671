/** The shapes of the proxy's JSON answers, as far as a client relies on them. */

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** An OCI image manifest: `GET /manifest` always answers one, converted if needed. */
export interface OciManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

export interface ManifestAnswer {
  readonly manifest: OciManifest;
  /** `Manifest-Digest`: the digest of what the reference names (the list's, for a list). */
  readonly digest: string;
  /** `Instance-Digest`: the per-platform manifest the body was made from, before conversion. */
  readonly instanceDigest: string;
  /** The body exactly as served, e.g. to hash or store it. */
  readonly bytes: Buffer;
}

/** An OCI image config; only the fields every image has are typed. */
export interface ImageConfig {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly string[] };
  readonly [field: string]: unknown;
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** One entry of `GET /layers`. */
export interface LayerInfo {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly compression: LayerCompression;
  /** The digest of the uncompressed tar, from the config's `rootfs.diff_ids` (paired by position). */
  readonly diffID?: string;
  /** Why the config gives this layer no usable diff ID; such a layer cannot be read decompressed. */
  readonly diffIDError?: string;
  /** Present (true) on a zstd:chunked layer (annotated with the checksum of its table of contents). */
  readonly zstdChunked?: true;
  /** True for an encrypted layer (`…+encrypted`); `compression` is then its plaintext's. */
  readonly encrypted?: true;
  /** For an encrypted layer: whether one of the proxy's `--decryption-key`s opens it. */
  readonly decryptable?: boolean;
}

export interface VersionInfo {
  readonly version: string;
  readonly apiVersion: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}
