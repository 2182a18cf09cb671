import { ProxyError } from '../errors.js';
import { type DockerReference, isShortName, parseDockerReference, withDefaultTag } from '../reference.js';
import { type RegistriesConf } from './registries-conf.js';

/**
 * The candidates Podman's short-name resolution would try for `input` (the docker transport
 * itself never does this: it always means docker.io). An alias gives the single candidate;
 * otherwise each unqualified-search registry gives one. With no TTY, `enforcing` refuses to
 * choose among several; `permissive` and `disabled` return them all.
 */
export function shortNameCandidates(conf: RegistriesConf, input: string): DockerReference[] {
  if (!isShortName(input)) return [withDefaultTag(parseDockerReference(input))];
  const { name, suffix } = splitTagAndDigest(input);
  const alias = conf.aliases.get(name);
  if (alias !== undefined) return [withSuffix(alias.domain + '/' + alias.path, suffix)];
  if (conf.unqualifiedSearchRegistries.length === 0) {
    throw new ProxyError('invalid-reference', `short name ${JSON.stringify(input)} has no alias and no unqualified-search-registries are configured`);
  }
  const candidates = conf.unqualifiedSearchRegistries.map((registry) => withSuffix(`${registry}/${name}`, suffix));
  if (conf.shortNameMode === 'enforcing' && candidates.length > 1) {
    throw new ProxyError('invalid-reference', `short name ${JSON.stringify(input)} is ambiguous in enforcing short-name-mode and there is no terminal to ask on`);
  }
  return candidates;
}

function splitTagAndDigest(input: string): { name: string; suffix: string } {
  const at = input.indexOf('@');
  const beforeDigest = at === -1 ? input : input.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const end = colon > beforeDigest.lastIndexOf('/') ? colon : beforeDigest.length;
  return { name: input.slice(0, end), suffix: input.slice(end) };
}

function withSuffix(name: string, suffix: string): DockerReference {
  return withDefaultTag(parseDockerReference(name + suffix));
}
