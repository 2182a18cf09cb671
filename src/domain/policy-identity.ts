import { posix } from 'node:path';
import { ProxyError } from './errors.js';
import { type DockerReference, dockerName, formatImageName, type ImageReference } from './reference.js';
import { storagePolicyIdentity, storagePolicyNamespaces } from './storage-reference.js';

/**
 * The policy.json scopes of an image, as containers/image's PolicyConfigurationIdentity and
 * PolicyConfigurationNamespaces define them per transport. Local transports are identified by
 * their resolved path; callers pass absolute paths (with symbolic links already resolved, if
 * they want containers/image's exact behaviour) and this only cleans them lexically.
 */

/** The most specific scope: `name:tag` / `name@digest`, the path, or '' for docker-archive and image IDs. */
export function policyIdentity(ref: ImageReference): string {
  switch (ref.transport) {
    case 'docker':
      return dockerIdentity(ref.docker);
    case 'oci':
    case 'dir':
    case 'oci-archive':
      return explicitPath(ref);
    case 'docker-archive':
      // containers/image gives archives no identity, so only the transport's "" scope applies.
      return '';
    case 'docker-daemon':
      // An image ID names no repository: only the transport's "" scope applies to it.
      return ref.docker === undefined ? '' : dockerIdentity(ref.docker);
    case 'containers-storage':
      return storagePolicyIdentity(ref);
  }
}

/** The scopes to try after the identity, most specific first, as containers/image lists them. */
export function policyNamespaces(ref: ImageReference): string[] {
  switch (ref.transport) {
    case 'docker':
      return dockerNamespaces(ref.docker);
    case 'oci':
    case 'oci-archive': {
      // containers/image repeats the identity here, and leaves out "/" (the "" scope covers it).
      const path = explicitPath(ref);
      return path === '/' ? [] : [path, ...parentDirectories(path)];
    }
    case 'dir':
      return parentDirectories(explicitPath(ref));
    case 'docker-archive':
      return [];
    case 'docker-daemon':
      return ref.docker === undefined ? [] : dockerNamespaces(ref.docker);
    case 'containers-storage':
      return storagePolicyNamespaces(ref);
  }
}

function dockerIdentity(ref: DockerReference): string {
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw new ProxyError('internal', `docker reference ${dockerName(ref)} has both a tag and a digest; it has no policy identity`);
  }
  if (ref.tag !== undefined) return `${dockerName(ref)}:${ref.tag}`;
  if (ref.digest !== undefined) return `${dockerName(ref)}@${ref.digest}`;
  throw new ProxyError('internal', `docker reference ${dockerName(ref)} has neither a tag nor a digest; it has no policy identity`);
}

/**
 * The repository, each parent namespace up to the host, then the host's `*.` wildcards with
 * the port stripped (`*.example.com`, `*.com`).
 */
function dockerNamespaces(ref: DockerReference): string[] {
  const namespaces: string[] = [];
  let name = dockerName(ref);
  for (;;) {
    namespaces.push(name);
    const slash = name.lastIndexOf('/');
    if (slash === -1) break;
    name = name.slice(0, slash);
  }
  const colon = name.indexOf(':');
  let host = colon === -1 ? name : name.slice(0, colon);
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.')) {
    host = host.slice(dot + 1);
    namespaces.push(`*.${host}`);
  }
  return namespaces;
}

/** Every ancestor directory, nearest first, stopping before "/" (the "" scope already covers it). */
function parentDirectories(path: string): string[] {
  const parents: string[] = [];
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/')) {
    path = path.slice(0, slash);
    parents.push(path);
  }
  return parents;
}

function explicitPath(ref: ImageReference & { readonly path: string }): string {
  if (!posix.isAbsolute(ref.path)) {
    throw new ProxyError('internal', `the policy identity of ${formatImageName(ref)} needs an absolute path`);
  }
  const cleaned = posix.normalize(ref.path);
  return cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
}
