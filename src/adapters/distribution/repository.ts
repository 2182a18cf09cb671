import { type HttpRequest, type HttpResponse, type Send } from './http.js';

/** One repository on one registry endpoint, with the senders requests for it go through. */
export interface Repository {
  /** `domain/path` as the reference names it, for messages. */
  readonly name: string;
  readonly baseUrl: URL;
  /** Repository path on the registry, e.g. `library/busybox`. */
  readonly path: string;
  readonly insecure: boolean;
  /** The ping advertised the signature extension API. */
  readonly supportsSignatures?: boolean | undefined;
  /** With the registry's authorization (and the insufficient_scope retry). */
  readonly send: Send;
  /** Without any authorization: foreign-layer URLs. */
  readonly sendAnonymous: Send;
  /** How a large blob may be fetched over several connections (`maxStreams` 1: never). */
  readonly parallel: ParallelFetch;
}

export interface ParallelFetch {
  /** Most connections one blob is fetched on at once (`--max-parallel-per-blob`). */
  readonly maxStreams: number;
  /** Bytes each ranged request asks for (`--blob-chunk-size`). */
  readonly chunkSize: number;
}

/** `GET /v2/<path>/<kind>/<reference>` on the repository's registry. */
export function getFromRepository(
  repository: Repository,
  kind: 'manifests' | 'blobs',
  reference: string,
  extra: Pick<HttpRequest, 'headers' | 'what' | 'signal'>,
): Promise<HttpResponse> {
  const url = new URL(`/v2/${repository.path}/${kind}/${reference}`, repository.baseUrl);
  return repository.send({ url, method: 'GET', insecure: repository.insecure, ...extra });
}
