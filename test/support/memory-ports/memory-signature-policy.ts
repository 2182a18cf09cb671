import { ProxyError } from '../../../src/domain/errors.js';
import { formatImageName } from '../../../src/domain/reference.js';
import { type PolicySubject, type PolicyVerdict, type SignaturePolicy } from '../../../src/ports/signature-policy.js';

/** Why an image is refused, or undefined to allow it. */
export type PolicyRule = (subject: PolicySubject) => string | undefined;

/**
 * A signature policy decided by a function in the test, not by policy.json: it allows or refuses
 * (`policy-rejected`, naming the image and the rule's reason) and records every subject it was
 * asked about, so a test can see what was judged (the logical reference, the source that served).
 */
export class MemorySignaturePolicy implements SignaturePolicy {
  readonly subjects: PolicySubject[] = [];

  constructor(private readonly rule: PolicyRule = () => undefined) {}

  /** Refuses every image whose logical name starts with `prefix` (e.g. `docker://quay.io/ns/`). */
  static refusing(prefix: string, reason = 'not signed by a trusted key'): MemorySignaturePolicy {
    return new MemorySignaturePolicy((subject) => (formatImageName(subject.reference).startsWith(prefix) ? reason : undefined));
  }

  async check(subject: PolicySubject, signal?: AbortSignal): Promise<PolicyVerdict> {
    signal?.throwIfAborted();
    this.subjects.push(subject);
    const refusal = this.rule(subject);
    if (refusal !== undefined) throw new ProxyError('policy-rejected', `${formatImageName(subject.reference)} is rejected by the in-memory policy: ${refusal}`);
    return { allowed: true, policy: 'in-memory policy', requirements: [{ type: 'insecureAcceptAnything' }], signatures: [] };
  }
}
