import { type Digest } from '../domain/digest.js';
import { type ImageReference } from '../domain/reference.js';
import { type ImageSource, type RawManifest } from './transport.js';

/** What a policy judges: the image the user asked for, and where it was actually found. */
export interface PolicySubject {
  /** The logical reference (what the user named); selects the policy scope. */
  readonly reference: ImageReference;
  /** The source that served it (a mirror, perhaps); signatures are looked up there. */
  readonly source: ImageSource;
  /** The manifest the reference names (a list, for multi-platform images). */
  readonly manifest: RawManifest & { readonly digest: Digest };
  /** The per-platform manifest chosen from a list; undefined when the reference names a single image. */
  readonly instance?: (RawManifest & { readonly digest: Digest }) | undefined;
}

/** Decides whether an image may be served. Rejects with `policy-rejected` (or `policy-invalid`). */
export interface SignaturePolicy {
  check(subject: PolicySubject, signal?: AbortSignal): Promise<void>;
}
