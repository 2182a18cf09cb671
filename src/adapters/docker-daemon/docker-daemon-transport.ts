import { isProxyError, ProxyError } from '../../domain/errors.js';
import { type DockerReference, type ImageReference, type TransportName } from '../../domain/reference.js';
import { type BlobBody, type BlobRequest, type ImageSource, type OpenOptions, type RawManifest, type Transport } from '../../ports/transport.js';
import { type Digest } from '../../domain/digest.js';
import { type LayerCompression } from '../../domain/layers.js';
import { openArchivedImage } from '../archive/docker-archive-transport.js';
import { type DockerArchiveSource } from '../archive/docker-archive-source.js';
import { TarIndex } from '../archive/tar-index.js';
import { createPrivateTempFile } from '../file-system/private-files.js';
import { type DockerEngineApi } from './engine-api.js';

/** What the transport needs of the engine: the export of one image, written to a file. */
export type ImageExporter = Pick<DockerEngineApi, 'exportImage'>;

/**
 * `docker-daemon:NAME:TAG` and `docker-daemon:sha256:IMAGE-ID`: an image of a Docker engine, read
 * as containers/image reads it. The engine's export (`docker save`) is copied to a private
 * temporary file, since its manifest.json comes last and the tar must be read out of order,
 * then served by the docker-archive code. The file goes when the image is closed or the
 * process exits.
 */
export class DockerDaemonTransport implements Transport {
  readonly name: TransportName = 'docker-daemon';

  constructor(private readonly engine: ImageExporter) {}

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'docker-daemon') {
      throw new ProxyError('internal', `the docker-daemon transport was asked to open a ${reference.transport} reference`);
    }
    const name = engineName(reference);
    const file = await createPrivateTempFile('container-image-proxy-export', { removeAtExit: true });
    const remove = (): Promise<void> => file.remove();
    try {
      await this.engine.exportImage(name, file.handle, signal);
      await file.handle.close();
      const archive = await indexExport(file.path, name, signal);
      const source = await openArchivedImage(
        archive,
        reference,
        (items) => {
          const only = items[0];
          if (items.length !== 1 || only === undefined)
            throw new ProxyError('engine-error', `the engine's export of ${name} holds ${items.length} images instead of one`);
          return only;
        },
        signal,
      );
      return new DockerDaemonSource(source, remove);
    } catch (err) {
      await remove();
      throw err;
    }
  }
}

/** An export that is not a whole tar is the engine's failure, not a malformed image. */
async function indexExport(path: string, name: string, signal?: AbortSignal): Promise<TarIndex> {
  try {
    return await TarIndex.build(path, signal, `the engine's export of ${name}`);
  } catch (err) {
    if (isProxyError(err, 'manifest-invalid')) throw new ProxyError('engine-error', err.message, { cause: err });
    throw err;
  }
}

/**
 * What containers/image asks the engine for: the image ID, or the familiar form of the name
 * (`busybox:latest`, `quay.io/org/app:1`), which every engine resolves as `docker` does.
 */
export function engineName(reference: ImageReference & { readonly transport: 'docker-daemon' }): string {
  if (reference.imageId !== undefined) return reference.imageId;
  if (reference.docker === undefined) throw new ProxyError('internal', 'a docker-daemon reference without name or image ID');
  return familiarString(reference.docker);
}

/** Go's reference.FamiliarString: docker.io and its library/ namespace left out. */
function familiarString(ref: DockerReference): string {
  let name = `${ref.domain}/${ref.path}`;
  if (ref.domain === 'docker.io') {
    name = ref.path.startsWith('library/') && !ref.path.slice('library/'.length).includes('/') ? ref.path.slice('library/'.length) : ref.path;
  }
  return name + (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}

/** The export's image, served from the temporary file until it is closed. */
class DockerDaemonSource implements ImageSource {
  readonly reference: ImageReference;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly archive: DockerArchiveSource,
    private readonly remove: () => Promise<void>,
  ) {
    this.reference = archive.reference;
  }

  manifest(instance: Digest | undefined, signal?: AbortSignal): Promise<RawManifest> {
    return this.archive.manifest(instance, signal);
  }

  blob(request: BlobRequest, signal?: AbortSignal): Promise<BlobBody> {
    return this.archive.blob(request, signal);
  }

  layerCompression(): Promise<LayerCompression> {
    return this.archive.layerCompression();
  }

  /** Removes the export; streams already open keep reading the unlinked file to their end. */
  close(): Promise<void> {
    this.closing ??= this.remove();
    return this.closing;
  }
}
