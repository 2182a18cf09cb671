import { type Digest, digestHex, digestAlgorithm, digestOf } from '../../domain/digest.js';
import { isProxyError, ProxyError } from '../../domain/errors.js';
import { parseManifest } from '../../domain/manifest.js';
import { MediaType } from '../../domain/media-types.js';
import { type Signature } from '../../domain/signatures/signature.js';
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, MAX_SIGNATURE_LIST_BYTES } from '../../domain/size-limits.js';
import { readCapped } from './bodies.js';
import { mediaTypeOf } from './manifests.js';
import { registryError } from './registry-errors.js';
import { type Repository, getFromRepository } from './repository.js';

/**
 * `GET /extensions/v2/<path>/signatures/<digest>`, the registry signature API (OpenShift's),
 * used only when the ping advertised `X-Registry-Supports-Signatures: 1`. Only entries with
 * `schemaVersion` 2 and type `atomic` are signatures; any non-200 answer is an error.
 */
export async function fetchExtensionSignatures(repository: Repository, digest: Digest, signal?: AbortSignal): Promise<Uint8Array[]> {
  const url = new URL(`/extensions/v2/${repository.path}/signatures/${digest}`, repository.baseUrl);
  const what = `signatures of ${repository.name}@${digest}`;
  const response = await repository.send({ url, method: 'GET', insecure: repository.insecure, what, signal });
  if (response.statusCode !== 200) throw await registryError(response, repository.baseUrl.host, what, 'other');
  const body = await readCapped(response.body, MAX_SIGNATURE_LIST_BYTES).catch((err: unknown) => {
    throw response.failure(err);
  });
  if (body === undefined) throw new ProxyError('policy-rejected', `${what}: the signature list is larger than ${MAX_SIGNATURE_LIST_BYTES} bytes`);
  let list: unknown;
  try {
    list = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ProxyError('registry-error', `${what}: the signature list is not JSON`, { cause: err });
  }
  const entries = isRecord(list) && Array.isArray(list['signatures']) ? (list['signatures'] as unknown[]) : [];
  return entries
    .filter(
      (entry): entry is Record<string, unknown> =>
        isRecord(entry) && entry['schemaVersion'] === 2 && entry['type'] === 'atomic' && typeof entry['content'] === 'string',
    )
    .map((entry) => Buffer.from(entry['content'] as string, 'base64'));
}

/**
 * Sigstore attachments: the OCI manifest tagged `sha256-<hex>.sig` (a missing one means no
 * signatures), each layer fetched, size-capped and digest-checked, as containers/image does.
 */
export async function fetchSigstoreAttachments(repository: Repository, digest: Digest, signal?: AbortSignal): Promise<Signature[]> {
  const tag = `${digestAlgorithm(digest)}-${digestHex(digest)}.sig`;
  const what = `sigstore signatures ${repository.name}:${tag}`;
  const response = await getFromRepository(repository, 'manifests', tag, { headers: { accept: MediaType.ociManifest }, what, signal });
  if (response.statusCode !== 200) {
    const error = await registryError(response, repository.baseUrl.host, what, 'manifest');
    if (isProxyError(error, 'image-not-found')) return [];
    throw error;
  }
  const bytes = await readCapped(response.body, MAX_MANIFEST_BYTES).catch((err: unknown) => {
    throw response.failure(err);
  });
  if (bytes === undefined) throw new ProxyError('policy-rejected', `${what}: the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const mediaType = mediaTypeOf(response.headers['content-type']);
  if (mediaType !== MediaType.ociManifest) throw new ProxyError('policy-rejected', `${what}: unexpected media type ${JSON.stringify(mediaType)}`);
  const manifest = parseManifest(bytes, mediaType);
  if (manifest.kind !== 'oci-manifest') throw new ProxyError('policy-rejected', `${what}: not an OCI image manifest`);
  const signatures: Signature[] = [];
  for (const layer of manifest.layers) {
    if (layer.size > MAX_SIGNATURE_BYTES)
      throw new ProxyError('policy-rejected', `${what}: layer ${layer.digest} is ${layer.size} bytes, more than ${MAX_SIGNATURE_BYTES}`);
    const blob = await getFromRepository(repository, 'blobs', layer.digest, { what: `${what} layer ${layer.digest}`, signal });
    if (blob.statusCode !== 200) throw await registryError(blob, repository.baseUrl.host, `${what} layer ${layer.digest}`, 'blob');
    const payload = await readCapped(blob.body, MAX_SIGNATURE_BYTES).catch((err: unknown) => {
      throw blob.failure(err);
    });
    if (payload === undefined) throw new ProxyError('policy-rejected', `${what}: layer ${layer.digest} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
    if (digestOf(payload, digestAlgorithm(layer.digest)) !== layer.digest) {
      throw new ProxyError('digest-mismatch', `${what}: layer ${layer.digest} does not match its digest`);
    }
    signatures.push({ format: 'sigstore', mimeType: layer.mediaType, payload, annotations: { ...layer.annotations } });
  }
  return signatures;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
