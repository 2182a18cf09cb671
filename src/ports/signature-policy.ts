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

/** One signature found for the image, as the requirements that looked at it judged it. */
export interface SignatureVerdict {
  readonly kind: 'simple-signing' | 'sigstore';
  /** The trusted key that verified it: a GPG fingerprint, or `sha256:<hex>` of a sigstore public key. */
  readonly keyFingerprint?: string;
  /** The subject email of the Fulcio certificate that verified it, and that certificate's OIDC issuer. */
  readonly certificateIdentity?: string;
  readonly certificateIssuer?: string;
  /** The docker reference the signature claims; known once its payload verified. */
  readonly identity?: string;
  /** Whether a requirement accepted it (trusted signer, this manifest, an accepted identity). */
  readonly verified: boolean;
  /** Why no requirement accepted it. */
  readonly reason?: string;
}

export interface RequirementVerdict {
  readonly type: string;
  /** Indexes into `PolicyVerdict.signatures` of the signatures this requirement accepted. */
  readonly acceptedSignatures?: readonly number[];
}

/** Why an image was allowed: recorded when it was resolved, served by `GET /signatures`. */
export interface PolicyVerdict {
  readonly allowed: true;
  /** The policy file, or `--insecure-policy`. */
  readonly policy: string;
  /** The policy scope whose requirements applied; absent with `--insecure-policy`. */
  readonly scope?: string;
  readonly requirements: readonly RequirementVerdict[];
  /** Every signature found; empty when no requirement needed signatures. */
  readonly signatures: readonly SignatureVerdict[];
}

/**
 * Decides whether an image may be served: resolves with the verdict, rejects with
 * `policy-rejected` (or `policy-invalid`).
 */
export interface SignaturePolicy {
  check(subject: PolicySubject, signal?: AbortSignal): Promise<PolicyVerdict>;
}
