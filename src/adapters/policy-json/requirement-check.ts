import { type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type PolicyRequirement, type SignedIdentity } from '../../domain/policy.js';
import { type DockerReference } from '../../domain/reference.js';
import { identityMismatch } from '../../domain/signatures/identity-match.js';
import { claimsManifest, parseSignaturePayload } from '../../domain/signatures/payload.js';
import { type Signature } from '../../domain/signatures/signature.js';
import { GpgVerifier } from '../openpgp/gpg-verifier.js';
import { parseSigstorePublicKey } from '../sigstore/public-keys.js';
import { verifySigstoreWithKeys } from '../sigstore/sigstore-verifier.js';
import { readKeyMaterial } from './key-material.js';

/** What one requirement judges: the signatures found and the manifest they must name. */
export interface SignedImage {
  /** Exact bytes of the (per-platform) manifest the signatures must name. */
  readonly manifest: Uint8Array;
  readonly manifestDigest: Digest;
  /** The logical reference with `:latest` defaulted; undefined for transports without a docker identity. */
  readonly intended: DockerReference | undefined;
  readonly signatures: readonly Signature[];
}

/** One accepted signature, as `GET /signatures` and messages describe it. */
export interface AcceptedSignature {
  readonly kind: 'simple-signing' | 'sigstore';
  readonly signer: string;
  readonly claimedIdentity: string;
}

/**
 * A signature requirement allows the image when at least one signature of its kind is
 * accepted: verified by a trusted key, naming this manifest, with an identity the
 * signedIdentity rule accepts (checked in that order, as containers/image does).
 * Resolves the accepted signature, or rejects with `policy-rejected` listing why each failed.
 */
export async function checkSignatureRequirement(
  requirement: Extract<PolicyRequirement, { type: 'signedBy' | 'sigstoreSigned' }>,
  image: SignedImage,
  policySource: string,
): Promise<AcceptedSignature> {
  if (image.signatures.length === 0) throw new ProxyError('policy-rejected', 'no signature: a signature was required, but no signature exists');
  const verify = await verifierFor(requirement, policySource);
  const reasons: string[] = [];
  for (const [index, signature] of image.signatures.entries()) {
    try {
      return await acceptSignature(signature, verify, requirement.signedIdentity, image);
    } catch (err) {
      if (!(err instanceof ProxyError) || err.code !== 'policy-rejected') throw err;
      reasons.push(`signature ${index + 1}: ${err.message}`);
    }
  }
  throw new ProxyError('policy-rejected', `none of the ${image.signatures.length} signature(s) was accepted: ${reasons.join('; ')}`);
}

type Verify = (signature: Signature) => Promise<{ payload: Uint8Array; signer: string; kind: 'simple-signing' | 'sigstore' }>;

async function acceptSignature(signature: Signature, verify: Verify, rule: SignedIdentity, image: SignedImage): Promise<AcceptedSignature> {
  const { payload, signer, kind } = await verify(signature);
  const claims = parseSignaturePayload(payload, kind === 'sigstore' ? 'cosign' : 'simple-signing');
  if (!claimsManifest(claims, image.manifest)) {
    throw new ProxyError('policy-rejected', `digest mismatch: signed by ${signer} for manifest ${claims.manifestDigest}, not ${image.manifestDigest}`);
  }
  const mismatch = identityMismatch(rule, image.intended, claims.dockerReference);
  if (mismatch !== undefined) throw new ProxyError('policy-rejected', `wrong identity: ${mismatch} (signed by ${signer})`);
  return { kind, signer, claimedIdentity: claims.dockerReference };
}

async function verifierFor(requirement: Extract<PolicyRequirement, { type: 'signedBy' | 'sigstoreSigned' }>, policySource: string): Promise<Verify> {
  if (requirement.type === 'signedBy') {
    if (requirement.keyType !== 'GPGKeys') {
      throw new ProxyError('policy-rejected', `signedBy keyType ${JSON.stringify(requirement.keyType)} is not implemented (by containers/image either)`);
    }
    const material = await readKeyMaterial(requirement.keys, policySource);
    const gpg = await GpgVerifier.fromKeyrings(material.items, material.describe);
    return async (signature) => {
      if (signature.format !== 'simple-signing') throw new ProxyError('policy-rejected', 'not a simple-signing signature; signedBy ignores it');
      const verified = await gpg.verify(signature.blob);
      return { payload: verified.payload, signer: `GPG key ${verified.fingerprint}`, kind: 'simple-signing' };
    };
  }
  if (requirement.trust.kind !== 'keys') {
    throw new ProxyError('policy-rejected', `sigstoreSigned with ${requirement.trust.kind} is not supported by this build; refusing to accept signatures it cannot check`);
  }
  if (requirement.rekorKeys !== undefined) {
    throw new ProxyError('policy-rejected', 'sigstoreSigned with a public key and a Rekor key is not supported by this build; refusing to accept signatures it cannot check');
  }
  const material = await readKeyMaterial(requirement.trust.keys, policySource);
  const keys = material.items.map((pem, index) => parseSigstorePublicKey(pem, material.describe(index)));
  return async (signature) => {
    if (signature.format !== 'sigstore') throw new ProxyError('policy-rejected', 'not a sigstore signature; sigstoreSigned ignores it');
    const verified = verifySigstoreWithKeys(signature, keys);
    return { payload: verified.payload, signer: verified.signer, kind: 'sigstore' };
  };
}
