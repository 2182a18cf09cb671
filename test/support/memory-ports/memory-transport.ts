import { addAbortSignal, Readable } from 'node:stream';
import { type Digest } from '../../../src/domain/digest.js';
import { ProxyError } from '../../../src/domain/errors.js';
import { dockerName, formatImageName, type ImageReference, parseImageName, type TransportName } from '../../../src/domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type OpenOptions, type RawManifest, type Transport } from '../../../src/ports/transport.js';
import { artifactBlobs, artifactManifests, type FixtureArtifact } from '../fixture-builders.js';

/** Blobs are handed out in pieces of this size, so a reader can abort one half-way. */
const CHUNK = 64 * 1024;

/** One repository (a docker name, or a whole local image): manifests by tag and by digest, blobs by digest. */
interface Repository {
  readonly manifests: Map<string, RawManifest>;
  readonly blobs: Map<Digest, Uint8Array>;
}

/** What a caller asked of the transport, in order: which image, with which per-open options. */
export interface OpenRecord {
  readonly image: string;
  readonly options: OpenOptions;
}

/**
 * A Transport over images held in memory, standing in for a registry (or any other store) in
 * tests of what lies above the port. It behaves as the port says every adapter must (the
 * transport contract suite runs against it): `image-not-found` for what it does not hold,
 * `blob-not-found`, aborts honoured, byte-exact manifests and blobs. A host can be made to fail
 * every open, as an unreachable or refusing registry does. It records each open, and counts the
 * sources still open so a test can see that a caller closed what it gave up on.
 */
export class MemoryTransport implements Transport {
  readonly opens: OpenRecord[] = [];
  private readonly repositories = new Map<string, Repository>();
  private readonly failingHosts = new Map<string, ProxyError>();
  private openCount = 0;

  constructor(readonly name: TransportName = 'docker') {}

  /** Stores every manifest and blob of `artifact` under `image` (e.g. `docker://mirror.local/ns/app:1`), as a push would. */
  store(image: string, artifact: FixtureArtifact): this {
    const reference = this.parse(image);
    const repository = this.repository(reference);
    const [top, ...instances] = artifactManifests(artifact);
    repository.manifests.set(tagOf(reference), { bytes: top!.bytes, mediaType: top!.mediaType });
    for (const manifest of [top!, ...instances]) repository.manifests.set(manifest.digest, { bytes: manifest.bytes, mediaType: manifest.mediaType });
    for (const blob of artifactBlobs(artifact)) repository.blobs.set(blob.digest, blob.bytes);
    return this;
  }

  /** Stores one manifest under `image`'s tag or digest exactly as given, e.g. bytes that do not hash to that digest. */
  putManifest(image: string, manifest: RawManifest): this {
    const reference = this.parse(image);
    this.repository(reference).manifests.set(tagOf(reference), manifest);
    return this;
  }

  /** From now on every open of an image on `host` fails with `error`. */
  failHost(host: string, error: ProxyError): this {
    this.failingHosts.set(host, error);
    return this;
  }

  /** A registry where nothing listens: every open on `host` fails with `network`. */
  down(host: string): this {
    return this.failHost(host, new ProxyError('network', `connection to ${host} refused`));
  }

  /** Sources opened and not yet closed. */
  get openSources(): number {
    return this.openCount;
  }

  async open(reference: ImageReference, options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    signal?.throwIfAborted();
    const image = formatImageName(reference);
    this.opens.push({ image, options });
    if (reference.transport !== this.name) throw new ProxyError('internal', `${image} is not a ${this.name}: image`);
    const failure = reference.transport === 'docker' ? this.failingHosts.get(reference.docker.domain) : undefined;
    if (failure !== undefined) throw failure;
    const key = repositoryKey(reference);
    const repository = this.repositories.get(key);
    const manifest = repository?.manifests.get(tagOf(reference));
    if (repository === undefined || manifest === undefined) {
      const what = reference.transport === 'docker' ? `manifest ${tagOf(reference)} unknown in ${key}` : `no image at ${key}`;
      throw new ProxyError('image-not-found', what, { upstreamCode: 'MANIFEST_UNKNOWN' });
    }
    this.openCount++;
    let closed = false;
    return {
      reference,
      manifest: async (instance: Digest | undefined, manifestSignal?: AbortSignal) => {
        manifestSignal?.throwIfAborted();
        if (instance === undefined) return manifest;
        const found = repository.manifests.get(instance);
        if (found === undefined) throw new ProxyError('image-not-found', `manifest ${instance} unknown in ${key}`, { upstreamCode: 'MANIFEST_UNKNOWN' });
        return found;
      },
      blob: async (request: BlobRequest, blobSignal?: AbortSignal): Promise<BlobBody> => {
        blobSignal?.throwIfAborted();
        const bytes = repository.blobs.get(request.digest);
        if (bytes === undefined) throw new ProxyError('blob-not-found', `blob ${request.digest} unknown in ${key}`, { upstreamCode: 'BLOB_UNKNOWN' });
        const stream = Readable.from(chunks(bytes), { objectMode: false });
        return { stream: blobSignal === undefined ? stream : addAbortSignal(blobSignal, stream), size: bytes.length };
      },
      close: async () => {
        if (!closed) this.openCount--;
        closed = true;
      },
    };
  }

  private parse(image: string): ImageReference {
    const reference = parseImageName(image);
    if (reference.transport !== this.name) throw new Error(`${image} is not a ${this.name}: image`);
    return reference;
  }

  private repository(reference: ImageReference): Repository {
    const key = repositoryKey(reference);
    let repository = this.repositories.get(key);
    if (repository === undefined) {
      repository = { manifests: new Map(), blobs: new Map() };
      this.repositories.set(key, repository);
    }
    return repository;
  }
}

/** A docker name holds many tags; any other image name is one image of its own. */
function repositoryKey(reference: ImageReference): string {
  return reference.transport === 'docker' ? dockerName(reference.docker) : formatImageName(reference);
}

function tagOf(reference: ImageReference): string {
  return reference.transport === 'docker' ? (reference.docker.digest ?? reference.docker.tag ?? 'latest') : '';
}

function* chunks(bytes: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += CHUNK) yield Buffer.from(bytes.subarray(at, at + CHUNK));
}
