import { type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type KeySource, type PolicyRequirement, type SignedIdentity } from '../../domain/policy.js';
import { type DockerReference } from '../../domain/reference.js';
import { identityMismatch } from '../../domain/signatures/identity-match.js';
import { claimsManifest, parseSignaturePayload } from '../../domain/signatures/payload.js';
import { type Signature } from '../../domain/signatures/signature.js';
import { type SignatureVerdict } from '../../ports/signature-policy.js';
import { GpgVerifier } from '../openpgp/gpg-verifier.js';
import { parseFulcioCas } from '../sigstore/fulcio.js';
import { parseSigstorePublicKey } from '../sigstore/public-keys.js';
import { parseRekorPublicKey } from '../sigstore/rekor-set.js';
import { parsePkiCertificates } from '../sigstore/pki.js';
import { verifySigstoreWithFulcio, verifySigstoreWithKeys, verifySigstoreWithPki } from '../sigstore/sigstore-verifier.js';
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

type SignatureRequirement = Extract<PolicyRequirement, { type: 'signedBy' | 'sigstoreSigned' }>;

/**
 * A signature requirement allows the image when at least one signature of its kind is
 * accepted: verified by a trusted key, naming this manifest, with an identity the
 * signedIdentity rule accepts (checked in that order, as containers/image does).
 * Every signature is judged (for `GET /signatures`); resolves one verdict per signature, in
 * order, when at least one was accepted, else rejects with `policy-rejected` listing why each failed.
 */
export async function checkSignatureRequirement(requirement: SignatureRequirement, image: SignedImage, policySource: string): Promise<SignatureVerdict[]> {
  if (image.signatures.length === 0) throw new ProxyError('policy-rejected', 'no signature: a signature was required, but no signature exists');
  const verify = await verifierFor(requirement, policySource);
  const verdicts: SignatureVerdict[] = [];
  for (const signature of image.signatures) verdicts.push(await judge(signature, verify, requirement.signedIdentity, image));
  if (!verdicts.some((verdict) => verdict.verified)) {
    const reasons = verdicts.map((verdict, index) => `signature ${index + 1}: ${verdict.reason ?? 'rejected'}`);
    throw new ProxyError('policy-rejected', `none of the ${image.signatures.length} signature(s) was accepted: ${reasons.join('; ')}`);
  }
  return verdicts;
}

type SignerDetails = Pick<SignatureVerdict, 'keyFingerprint' | 'certificateIdentity' | 'certificateIssuer'>;
type Verify = (signature: Signature) => Promise<{ payload: Uint8Array; signer: string; details: SignerDetails }>;

async function judge(signature: Signature, verify: Verify, rule: SignedIdentity, image: SignedImage): Promise<SignatureVerdict> {
  const kind = signature.format;
  let verdict: SignatureVerdict = { kind, verified: false };
  try {
    const { payload, signer, details } = await verify(signature);
    verdict = { ...verdict, ...details };
    const claims = parseSignaturePayload(payload, kind === 'sigstore' ? 'cosign' : 'simple-signing');
    verdict = { ...verdict, identity: claims.dockerReference };
    if (!claimsManifest(claims, image.manifest)) {
      throw new ProxyError('policy-rejected', `digest mismatch: signed by ${signer} for manifest ${claims.manifestDigest}, not ${image.manifestDigest}`);
    }
    const mismatch = identityMismatch(rule, image.intended, claims.dockerReference);
    if (mismatch !== undefined) throw new ProxyError('policy-rejected', `wrong identity: ${mismatch} (signed by ${signer})`);
    return { ...verdict, verified: true };
  } catch (err) {
    if (!(err instanceof ProxyError) || err.code !== 'policy-rejected') throw err;
    return { ...verdict, reason: err.message };
  }
}

async function verifierFor(requirement: SignatureRequirement, policySource: string): Promise<Verify> {
  if (requirement.type === 'signedBy') {
    if (requirement.keyType !== 'GPGKeys') {
      throw new ProxyError('policy-rejected', `signedBy keyType ${JSON.stringify(requirement.keyType)} is not implemented (by containers/image either)`);
    }
    const material = await readKeyMaterial(requirement.keys, policySource);
    const gpg = await GpgVerifier.fromKeyrings(material.items, material.describe);
    return async (signature) => {
      if (signature.format !== 'simple-signing') throw new ProxyError('policy-rejected', 'not a simple-signing signature; signedBy ignores it');
      const verified = await gpg.verify(signature.blob);
      return { payload: verified.payload, signer: `GPG key ${verified.fingerprint}`, details: { keyFingerprint: verified.fingerprint } };
    };
  }
  const { trust } = requirement;
  const rekorKeys = requirement.rekorKeys === undefined ? undefined : await parsedKeys(requirement.rekorKeys, policySource, parseRekorPublicKey);
  const sigstoreOnly = (signature: Signature) => {
    if (signature.format !== 'sigstore') throw new ProxyError('policy-rejected', 'not a sigstore signature; sigstoreSigned ignores it');
    return signature;
  };
  if (trust.kind === 'fulcio') {
    const [cas] = await parsedKeys(trust.fulcio.ca, policySource, parseFulcioCas);
    const root = { cas: cas ?? [], oidcIssuer: trust.fulcio.oidcIssuer, subjectEmail: trust.fulcio.subjectEmail };
    // The policy parser refuses fulcio without a Rekor key, so rekorKeys is set here.
    return async (signature) => withDetails(verifySigstoreWithFulcio(sigstoreOnly(signature), root, rekorKeys ?? []));
  }
  if (trust.kind === 'pki') {
    const [roots] = await parsedKeys(trust.pki.caRoots, policySource, parsePkiCertificates);
    const [intermediates] = trust.pki.caIntermediates === undefined ? [] : await parsedKeys(trust.pki.caIntermediates, policySource, parsePkiCertificates);
    const pki = { roots: roots ?? [], intermediates: intermediates ?? [], subjectEmail: trust.pki.subjectEmail, subjectHostname: trust.pki.subjectHostname };
    return async (signature) => withDetails(verifySigstoreWithPki(sigstoreOnly(signature), pki));
  }
  const keys = await parsedKeys(trust.keys, policySource, parseSigstorePublicKey);
  return async (signature) => withDetails(verifySigstoreWithKeys(sigstoreOnly(signature), keys, rekorKeys));
}

async function parsedKeys<T>(source: KeySource, policySource: string, parse: (pem: Uint8Array, where: string) => T): Promise<T[]> {
  const material = await readKeyMaterial(source, policySource);
  return material.items.map((pem, index) => parse(pem, material.describe(index)));
}

function withDetails(verified: ReturnType<typeof verifySigstoreWithKeys>): Awaited<ReturnType<Verify>> {
  const { payload, signer, keyFingerprint, certificateIdentity, certificateIssuer } = verified;
  const details: SignerDetails = keyFingerprint !== undefined ? { keyFingerprint } : { certificateIdentity, certificateIssuer };
  return { payload, signer, details };
}
