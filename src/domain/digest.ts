import { createHash, type Hash } from 'node:crypto';
import { ProxyError } from './errors.js';

/** A validated content digest such as `sha256:<64 lower-case hex>`. */
export type Digest = string & { readonly __brand: 'Digest' };

/** The algorithms go-digest accepts, with their hex length. */
const HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof HEX_LENGTH;

const DIGEST_PATTERN = /^(sha256|sha384|sha512):([0-9a-f]+)$/;

/** Parses a digest strictly: known algorithm, lower-case hex of the exact length. */
export function parseDigest(value: string): Digest {
  const match = DIGEST_PATTERN.exec(value);
  if (!match) {
    throw new ProxyError('bad-request', `invalid digest ${JSON.stringify(value)}: expected sha256, sha384 or sha512 followed by lower-case hex`);
  }
  const algorithm = match[1] as DigestAlgorithm;
  if (match[2]!.length !== HEX_LENGTH[algorithm]) {
    throw new ProxyError('bad-request', `invalid digest ${JSON.stringify(value)}: ${algorithm} needs ${HEX_LENGTH[algorithm]} hex characters`);
  }
  return value as Digest;
}

export function isDigest(value: string): value is Digest {
  const match = DIGEST_PATTERN.exec(value);
  return match !== null && match[2]!.length === HEX_LENGTH[match[1] as DigestAlgorithm];
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** An incremental hasher for the digest's own algorithm. */
export function hasherFor(digest: Digest): Hash {
  return createHash(digestAlgorithm(digest));
}
