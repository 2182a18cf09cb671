import { type Digest, digestOf } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type PolicyDocument, scopeFor } from '../../domain/policy.js';
import { policyIdentity, policyNamespaces } from '../../domain/policy-identity.js';
import { type DockerReference, formatImageName, type ImageReference } from '../../domain/reference.js';
import { type Signature } from '../../domain/signatures/signature.js';
import { type PolicySubject, type PolicyVerdict, type RequirementVerdict, type SignaturePolicy, type SignatureVerdict } from '../../ports/signature-policy.js';
import { checkSignatureRequirement } from './requirement-check.js';
import { type SignatureFinder } from './signature-finder.js';

export interface PolicyJsonSignaturePolicyOptions {
  readonly policy: PolicyDocument;
  /** Finds signatures for signedBy/sigstoreSigned; a policy without such requirements never calls it. */
  readonly signatures: SignatureFinder;
}

/**
 * Enforces a policy.json (containers/image's IsRunningImageAllowed): the scope is chosen from
 * the logical reference, every requirement in it must allow the image, and the first one that
 * does not rejects it with a message naming the file, scope, requirement and reason.
 */
export class PolicyJsonSignaturePolicy implements SignaturePolicy {
  constructor(private readonly options: PolicyJsonSignaturePolicyOptions) {}

  async check(subject: PolicySubject, signal?: AbortSignal): Promise<PolicyVerdict> {
    const { policy } = this.options;
    const reference = subject.reference;
    const { scope, requirements } = scopeFor(policy, reference.transport, policyIdentity(reference), policyNamespaces(reference));
    // The image judged is the one served: for a list, the chosen instance (as containers/image copies it).
    const manifest = subject.instance ?? subject.manifest;
    let signatures: Promise<Signature[]> | undefined;
    const report = new VerdictReport();
    for (const [index, requirement] of requirements.entries()) {
      const where = `${formatImageName(reference)} is rejected by ${policy.source} (scope ${scope}, requirement ${index + 1} "${requirement.type}")`;
      try {
        if (requirement.type === 'insecureAcceptAnything') {
          report.requirements.push({ type: requirement.type });
          continue;
        }
        if (requirement.type === 'reject') throw new ProxyError('policy-rejected', 'the policy rejects every image here');
        signatures ??= this.options.signatures.find(subject.source, lookupDigest(manifest), signal);
        const verdicts = await checkSignatureRequirement(
          requirement,
          { manifest: manifest.bytes, manifestDigest: manifest.digest, intended: intendedReference(reference), signatures: await signatures },
          policy.source,
        );
        report.add(requirement.type, verdicts);
      } catch (err) {
        if (err instanceof ProxyError && err.code === 'policy-rejected') throw new ProxyError('policy-rejected', `${where}: ${err.message}`, { cause: err });
        throw err;
      }
    }
    return { allowed: true, policy: policy.source, scope, requirements: report.requirements, signatures: report.signatures };
  }
}

/**
 * Verdicts of every requirement merged per signature: a signature any requirement accepted is
 * reported as that requirement saw it; otherwise as the first requirement that judged it.
 */
class VerdictReport {
  readonly requirements: RequirementVerdict[] = [];
  readonly signatures: SignatureVerdict[] = [];

  add(type: string, verdicts: readonly SignatureVerdict[]): void {
    const accepted: number[] = [];
    for (const [index, verdict] of verdicts.entries()) {
      if (verdict.verified) accepted.push(index);
      const known = this.signatures[index];
      if (known === undefined || (!known.verified && verdict.verified)) this.signatures[index] = verdict;
    }
    this.requirements.push({ type, acceptedSignatures: accepted });
  }
}

/** Lookaside and attachments are keyed by a sha256 digest, computed when the reference used another. */
function lookupDigest(manifest: { readonly bytes: Uint8Array; readonly digest: Digest }): Digest {
  return manifest.digest.startsWith('sha256:') ? manifest.digest : digestOf(manifest.bytes, 'sha256');
}

/** The identity signatures are matched against: docker references only, `:latest` when untagged. */
function intendedReference(reference: ImageReference): DockerReference | undefined {
  // A store's image is named as it was stored (its DockerReference); one named by ID alone has no identity.
  if (reference.transport === 'containers-storage') return reference.prefixMayBeName ? undefined : reference.named;
  if (reference.transport !== 'docker') return undefined;
  const docker = reference.docker;
  return docker.tag === undefined && docker.digest === undefined ? { ...docker, tag: 'latest' } : docker;
}

/** `--insecure-policy`: accepts every image without reading any policy file. */
export class InsecureAcceptAnythingPolicy implements SignaturePolicy {
  async check(): Promise<PolicyVerdict> {
    return { allowed: true, policy: '--insecure-policy', requirements: [], signatures: [] };
  }
}
