import { type Readable } from 'node:stream';
import { type Digest } from '../domain/digest.js';
import { type LayerCompression } from '../domain/layers.js';
import { type ImageReference, type TransportName } from '../domain/reference.js';
import { type Signature } from '../domain/signatures/signature.js';
import { type PhysicalLayer } from '../domain/uncompressed-layers.js';

/** A manifest as the source stores it: exact bytes plus the media type the source declares. */
export interface RawManifest {
  readonly bytes: Uint8Array;
  /** Media type from the source (Content-Type, index descriptor, …); '' when the source has none. */
  readonly mediaType: string;
}

/** What a caller knows about a blob it wants: its descriptor from the manifest. */
export interface BlobRequest {
  readonly digest: Digest;
  readonly size?: number | undefined;
  readonly mediaType?: string | undefined;
  /** Foreign-layer URLs, tried before the registry. */
  readonly urls?: readonly string[] | undefined;
}

export interface BlobBody {
  /** The raw bytes as stored, unverified: verification happens once, in the use case. */
  readonly stream: Readable;
  /** Size the source announced, when it announced one. */
  readonly size: number | undefined;
}

/** Per-open settings decided by configuration, not by the adapter (e.g. a mirror marked insecure). */
export interface OpenOptions {
  /** Skip TLS verification and allow plain http for this source. */
  readonly insecure?: boolean | undefined;
  /**
   * For registry sources: the registry the user asked for, which registries.conf may have
   * replaced by a mirror or another location; handed on to the credential lookup.
   */
  readonly requestedRegistry?: string | undefined;
}

/**
 * One opened image: the raw accessors a transport supplies. Everything else (platform choice,
 * OCI conversion, digest verification, policy) is derived from these once, in the use cases.
 */
export interface ImageSource {
  /** The physical reference this source reads (a mirror's, for registries). */
  readonly reference: ImageReference;
  /**
   * The manifest the reference names (`instance` undefined), or the instance of a list with that
   * digest. A by-digest fetch must hash to the digest; adapters may check, the use case always does.
   */
  manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest>;
  /** Streams a blob. Rejects with `blob-not-found` when the source does not have it. */
  blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody>;
  close(): Promise<void>;
  /**
   * How the bytes `blob` serves for a layer are compressed, for a source that knows better than
   * the layer's media type (a docker archive serves every layer uncompressed, typed gzip) or can
   * look cheaply (local files). Optional, and undefined when it cannot tell: the media type is
   * then believed.
   */
  layerCompression?(layer: BlobRequest, signal?: AbortSignal): Promise<LayerCompression | undefined>;
  /**
   * Signature blobs the source keeps itself for the manifest with this digest (a registry's
   * signature extension API, when its ping advertised one). Resolves undefined when it keeps
   * none, so lookaside storage applies. Optional: sources without such storage omit it.
   */
  storedSignatures?(digest: Digest, signal?: AbortSignal): Promise<readonly Uint8Array[] | undefined>;
  /**
   * The layers of the image manifest with this digest as the source can serve them, in manifest
   * order, where they differ from what the manifest lists: a local image store keeps each layer
   * only as its uncompressed tar, named by its diff ID. The served manifest then lists these.
   * Optional: sources that serve the manifest's own blobs omit it.
   */
  uncompressedLayers?(instance: Digest, signal?: AbortSignal): Promise<readonly PhysicalLayer[]>;
  /** Sigstore signatures attached to the manifest with this digest (`sha256-<hex>.sig`); [] when none. */
  sigstoreAttachments?(digest: Digest, signal?: AbortSignal): Promise<readonly Signature[]>;
}

/** A way to reach images: a local layout, a registry, an archive. One adapter per transport name. */
export interface Transport {
  readonly name: TransportName;
  /** Opens the image; rejects with `image-not-found` when it does not exist. */
  open(reference: ImageReference, options: OpenOptions, signal?: AbortSignal): Promise<ImageSource>;
}
