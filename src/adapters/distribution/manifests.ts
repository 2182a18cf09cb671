import { type Digest, digestAlgorithm, digestOf } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { MANIFEST_ACCEPT, MediaType } from '../../domain/media-types.js';
import { MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type RawManifest } from '../../ports/transport.js';
import { readCapped } from './bodies.js';
import { registryError } from './registry-errors.js';
import { type Repository, getFromRepository } from './repository.js';

/** `type/subtype` without parameters, lower-cased; '' when absent. */
export function mediaTypeOf(contentType: string | string[] | undefined): string {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Fetches a manifest by tag or digest with the full Accept list. The media type is the response's
 * Content-Type (no sniffing). A by-digest fetch must hash to that digest; signed schema1 is
 * exempt because its digest covers the JWS payload only, and it is refused later anyway.
 */
export async function fetchManifest(repository: Repository, reference: string, expected: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
  const separator = expected === undefined ? ':' : '@';
  const what = `manifest ${repository.name}${separator}${reference}`;
  const response = await getFromRepository(repository, 'manifests', reference, { headers: { accept: MANIFEST_ACCEPT }, what, signal });
  if (response.statusCode !== 200) throw await registryError(response, repository.baseUrl.host, what, 'manifest');
  const bytes = await readCapped(response.body, MAX_MANIFEST_BYTES).catch((err: unknown) => {
    throw response.failure(err);
  });
  if (bytes === undefined) {
    throw new ProxyError('manifest-invalid', `${what} is larger than ${MAX_MANIFEST_BYTES / (1024 * 1024)} MiB`);
  }
  const mediaType = mediaTypeOf(response.headers['content-type']);
  if (expected !== undefined && mediaType !== MediaType.dockerSchema1Signed) {
    const actual = digestOf(bytes, digestAlgorithm(expected));
    if (actual !== expected) {
      throw new ProxyError('digest-mismatch', `${what}: the registry sent a manifest with digest ${actual}`);
    }
  }
  return { bytes, mediaType };
}
