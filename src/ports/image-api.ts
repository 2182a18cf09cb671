import { type Readable } from 'node:stream';
import { type Digest } from '../domain/digest.js';

/** The proxy's driving port: what the HTTP adapter serves. */
export interface ManifestAnswer {
  /** OCI manifest bytes. */
  readonly body: Uint8Array;
  /** Digest of the manifest the reference names (the list's, for a list). */
  readonly manifestDigest: Digest;
  /** Digest of the per-platform manifest the body was made from, before conversion. */
  readonly instanceDigest: Digest;
}

export interface BlobAnswer {
  readonly size: number;
  /** Verified stream: errors (and withholds its last bytes) when size or digest is wrong. */
  readonly stream: Readable;
}

export interface ImageApi {
  manifest(signal?: AbortSignal): Promise<ManifestAnswer>;
  config(signal?: AbortSignal): Promise<Uint8Array>;
  /** Rejects with `blob-not-found` for a digest the image does not reference. */
  blob(digest: Digest, signal?: AbortSignal): Promise<BlobAnswer>;
}
