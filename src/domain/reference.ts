import { type Digest } from './digest.js';
import { ProxyError } from './errors.js';

/**
 * A docker reference after normalization (`busybox` → domain `docker.io`, path `library/busybox`).
 * `domain` keeps a port when there is one; `docker.io` is never rewritten to its API host here.
 */
export interface DockerReference {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string | undefined;
  readonly digest?: Digest | undefined;
}

export type TransportName = 'docker' | 'oci' | 'dir' | 'oci-archive' | 'docker-archive';

/** An image name `transport:reference` split into its parts (containers-transports(5)). */
export type ImageReference =
  | { readonly transport: 'docker'; readonly docker: DockerReference }
  | { readonly transport: 'oci'; readonly path: string; readonly reference?: string | undefined; readonly index?: number | undefined }
  | { readonly transport: 'dir'; readonly path: string }
  | { readonly transport: 'oci-archive'; readonly path: string; readonly reference?: string | undefined }
  | { readonly transport: 'docker-archive'; readonly path: string; readonly docker?: DockerReference | undefined; readonly index?: number | undefined };

/** `domain/path`, without tag or digest (Go's `Name()`). */
export function dockerName(ref: DockerReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `domain/path[:tag][@digest]` (Go's `String()`). */
export function dockerString(ref: DockerReference): string {
  return dockerName(ref) + (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}

// The parsing functions below are filled in by the reference-grammar work (issue 2).
export function parseImageName(_value: string): ImageReference {
  throw new ProxyError('internal', 'parseImageName is not written yet');
}
