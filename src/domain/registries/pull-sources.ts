import { ProxyError, isProxyError } from '../errors.js';
import { type DockerReference, dockerName, dockerString, parseCanonicalDockerReference } from '../reference.js';
import { findRegistry, refMatchingPrefix } from './matching.js';
import { type RegistriesConf, type RegistryEntry } from './registries-conf.js';

/** One place to pull from, in the shape of the RegistriesConfig port's PullSource. */
export interface ResolvedPullSource {
  readonly reference: DockerReference;
  /** The endpoint's own `insecure`: the mirror's for a mirror, the registry's for the primary. */
  readonly insecure: boolean;
  /** The host actually contacted is blocked by its own best-matching entry. */
  readonly blocked: boolean;
}

interface Endpoint {
  readonly location: string;
  readonly insecure: boolean;
}

/**
 * Where to pull `reference` from, in order: the mirrors that serve this kind of reference
 * (by tag or by digest), then the primary. Matching uses the name only, so prefixes naming a
 * tag or digest never match. A rewrite that is not a canonical reference fails the whole pull,
 * not just that source.
 */
export function pullSourcesFor(conf: RegistriesConf, reference: DockerReference): ResolvedPullSource[] {
  const entry = findRegistry(conf, dockerName(reference));
  if (entry === undefined) return [{ reference, insecure: false, blocked: false }];
  return endpointsFor(entry, reference.digest !== undefined).map((endpoint) => {
    const rewritten = rewrite(entry, endpoint, reference);
    return { reference: rewritten, insecure: endpoint.insecure, blocked: findRegistry(conf, dockerName(rewritten))?.blocked ?? false };
  });
}

function endpointsFor(entry: RegistryEntry, digested: boolean): Endpoint[] {
  const mirrors = entry.mirrorByDigestOnly
    ? digested
      ? entry.mirrors
      : []
    : entry.mirrors.filter((mirror) => (mirror.pullFromMirror === 'digest-only' ? digested : mirror.pullFromMirror === 'tag-only' ? !digested : true));
  return [...mirrors, { location: entry.location, insecure: entry.insecure }];
}

function rewrite(entry: RegistryEntry, endpoint: Endpoint, reference: DockerReference): DockerReference {
  if (endpoint.location === '') return reference;
  const written = dockerString(reference);
  const matched = refMatchingPrefix(written, entry.prefix);
  const target = endpoint.location + written.slice(matched);
  try {
    return parseCanonicalDockerReference(target);
  } catch (err) {
    if (!isProxyError(err)) throw err;
    throw new ProxyError(
      'config-invalid',
      `${entry.origin}: [[registry]] prefix ${JSON.stringify(entry.prefix)} rewrites ${written} to ${target}, which is not a valid canonical reference: ${err.message}`,
      { cause: err },
    );
  }
}
