import { type SignedIdentity } from '../policy.js';
import { type DockerReference, dockerName, dockerString, parseDockerReference } from '../reference.js';

/**
 * signedIdentity rules (containers/image policy_reference_match.go). `intended` is the logical
 * reference the user asked for, with `:latest` already defaulted; undefined for transports
 * that have no docker identity (only exactReference/exactRepository can match those).
 * Returns undefined when the signature's identity is accepted, otherwise why not.
 */
export function identityMismatch(rule: SignedIdentity, intended: DockerReference | undefined, signedIdentity: string): string | undefined {
  let signed: DockerReference;
  try {
    signed = parseDockerReference(signedIdentity);
  } catch {
    return `the signature claims an invalid identity ${JSON.stringify(signedIdentity)}`;
  }
  const claim = `the signature is for ${dockerString(signed)}`;
  switch (rule.type) {
    case 'exactReference': {
      const wanted = parseDockerReference(rule.dockerReference);
      return dockerString(signed) === dockerString(wanted) ? undefined : `${claim}, the policy requires exactly ${dockerString(wanted)}`;
    }
    case 'exactRepository': {
      const wanted = parseDockerReference(rule.dockerRepository);
      return dockerName(signed) === dockerName(wanted) ? undefined : `${claim}, the policy requires repository ${dockerName(wanted)}`;
    }
    default:
      break;
  }
  if (intended === undefined) return `${claim}, but this image has no docker reference to match it against (signedIdentity ${rule.type})`;
  switch (rule.type) {
    case 'matchExact':
      if (isNameOnly(signed)) return `${claim} without a tag or digest, matchExact needs ${dockerString(intended)}`;
      return dockerString(signed) === dockerString(intended) ? undefined : `${claim}, not ${dockerString(intended)} (matchExact)`;
    case 'matchRepository':
      return dockerName(signed) === dockerName(intended) ? undefined : `${claim}, not repository ${dockerName(intended)} (matchRepository)`;
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed, claim);
    case 'remapIdentity': {
      const remapped = remap(intended, rule.prefix, rule.signedPrefix);
      if (typeof remapped === 'string') return remapped;
      return repoDigestOrExact(remapped, signed, claim);
    }
  }
}

function repoDigestOrExact(intended: DockerReference, signed: DockerReference, claim: string): string | undefined {
  if (isNameOnly(signed)) return `${claim} without a tag or digest, which matchRepoDigestOrExact never accepts`;
  if (intended.tag !== undefined) {
    return dockerString(signed) === dockerString(intended) ? undefined : `${claim}, not ${dockerString(intended)}`;
  }
  return dockerName(signed) === dockerName(intended) ? undefined : `${claim}, not repository ${dockerName(intended)}`;
}

/** The intended reference with `prefix` swapped for `signedPrefix`, or why that is impossible. */
function remap(intended: DockerReference, prefix: string, signedPrefix: string): DockerReference | string {
  const name = dockerName(intended);
  if (name !== prefix && !name.startsWith(`${prefix}/`)) return intended;
  const suffix = (intended.tag === undefined ? '' : `:${intended.tag}`) + (intended.digest === undefined ? '' : `@${intended.digest}`);
  const rewritten = signedPrefix + name.slice(prefix.length) + suffix;
  try {
    return parseDockerReference(rewritten);
  } catch {
    return `remapping ${name} with prefix ${prefix} to ${signedPrefix} gives the invalid reference ${JSON.stringify(rewritten)}`;
  }
}

function isNameOnly(ref: DockerReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}
