import { ProxyError } from '../../domain/errors.js';
import { type PolicyDocument, type PolicyRequirement, requirementsFor } from '../../domain/policy.js';
import { policyIdentity, policyNamespaces } from '../../domain/policy-identity.js';
import { formatImageName } from '../../domain/reference.js';
import { type PolicySubject, type SignaturePolicy } from '../../ports/signature-policy.js';

/**
 * Enforces a policy.json. Every requirement in the matching scope must allow the image.
 * Requirement types this build cannot evaluate yet are refused with a clear error: an image is
 * never served on a requirement that was not checked.
 */
export class PolicyJsonSignaturePolicy implements SignaturePolicy {
  constructor(private readonly policy: PolicyDocument) {}

  async check(subject: PolicySubject): Promise<void> {
    const reference = subject.reference;
    const requirements = requirementsFor(this.policy, reference.transport, policyIdentity(reference), policyNamespaces(reference));
    for (const requirement of requirements) this.evaluate(requirement, formatImageName(reference));
  }

  private evaluate(requirement: PolicyRequirement, image: string): void {
    switch (requirement.type) {
      case 'insecureAcceptAnything':
        return;
      case 'reject':
        throw new ProxyError('policy-rejected', `${image} is rejected by policy (${this.policy.source}: requirement "reject")`);
      default:
        throw new ProxyError(
          'policy-rejected',
          `${image}: policy requirement ${JSON.stringify(requirement.type)} (${this.policy.source}) is not supported yet by this build; refusing to serve an image whose signatures were not checked`,
        );
    }
  }
}

/** `--insecure-policy`: accepts every image without reading any policy file. */
export class InsecureAcceptAnythingPolicy implements SignaturePolicy {
  async check(): Promise<void> {}
}
