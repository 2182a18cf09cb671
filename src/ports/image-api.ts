import { type Readable } from 'node:stream';
import { type Digest } from '../domain/digest.js';
import { type LayerInfo } from '../domain/layers.js';
import { type PolicyVerdict } from './signature-policy.js';

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
  /** Exact length; undefined for a decompressed gzip or zstd layer, whose length is known only at its end. */
  readonly size: number | undefined;
  /** Verified stream: errors (and withholds its last bytes) when size or digest is wrong. */
  readonly stream: Readable;
}

/**
 * Which image a request is about: a `transport:reference` name, or undefined for the image
 * named on the command line.
 */
export type ImageName = string | undefined;

export interface ImageApi {
  manifest(image: ImageName, signal?: AbortSignal): Promise<ManifestAnswer>;
  config(image: ImageName, signal?: AbortSignal): Promise<Uint8Array>;
  layers(image: ImageName, signal?: AbortSignal): Promise<readonly LayerInfo[]>;
  /**
   * Rejects with `blob-not-found` for a digest the image does not reference. With `decompress`,
   * a layer comes out as its uncompressed tar (its compression read from its first bytes),
   * checked against its diff ID too (an encrypted one decrypted first). With `decrypt`, an
   * encrypted layer comes out as its plaintext (still compressed), checked against its HMAC.
   */
  blob(image: ImageName, digest: Digest, options: { readonly decompress?: boolean; readonly decrypt?: boolean }, signal?: AbortSignal): Promise<BlobAnswer>;
  /** The signature policy's verdict on the image, recorded when it was resolved. */
  signatures(image: ImageName, signal?: AbortSignal): Promise<PolicyVerdict>;
  /** Forgets a resolved image (and closes its source); the next request resolves it again. */
  close(image: string): Promise<void>;
}
