import { type RegistriesConf, type RegistryEntry } from './registries-conf.js';

/**
 * How many characters of `ref` (a name, or a name with tag or digest) `prefix` matches, or -1.
 * A plain prefix must be followed by the end, ":", "/" or "@"; so `example.com` also matches
 * `example.com:5000/x`, a quirk containers/image keeps and this follows. A wildcard
 * `*.example.com` matches any subdomain host (never the apex) and counts the whole host.
 */
export function refMatchingPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) return subdomainMatch(ref, prefix.slice(1));
  if (ref === prefix) return prefix.length;
  if (ref.length > prefix.length && ref.startsWith(prefix) && ':/@'.includes(ref.charAt(prefix.length))) return prefix.length;
  return -1;
}

function subdomainMatch(ref: string, dottedDomain: string): number {
  const index = ref.indexOf(dottedDomain);
  if (index === -1 || ref.slice(0, index).includes('/')) return -1;
  const end = index + dottedDomain.length;
  return end === ref.length || ':/@'.includes(ref.charAt(end)) ? end : -1;
}

/**
 * The entry for a repository name: the longest matching prefix, the first of equal length in
 * prefix order (so `*.example.com` beats `a.example.com`). `undefined` when none matches.
 */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const entry of conf.registries) {
    if (refMatchingPrefix(name, entry.prefix) !== -1 && entry.prefix.length > (best?.prefix.length ?? 0)) best = entry;
  }
  return best;
}
