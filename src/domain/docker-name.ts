import { type Digest } from './digest.js';

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

/** `domain/path`, without tag or digest (Go's `Name()`). */
export function dockerName(ref: DockerReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `domain/path[:tag][@digest]` (Go's `String()`). */
export function dockerString(ref: DockerReference): string {
  return dockerName(ref) + (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}
