import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { MAX_MANIFEST_BYTES } from '../../domain/size-limits.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { readSmallFile, requireDirectory } from '../oci-layout/local-files.js';
import { guessedMediaType } from '../oci-layout/manifest-media-type.js';
import { DirSource } from './dir-source.js';

/**
 * `dir:PATH`: containers/image's directory format, one image per directory: `manifest.json`,
 * `<hex>.manifest.json` for each instance of a list, and blobs stored as `<hex>`.
 */
export class DirTransport implements Transport {
  readonly name: TransportName = 'dir';

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'dir') {
      throw new ProxyError('internal', `the dir transport was asked to open a ${reference.transport} reference`);
    }
    const directory = reference.path;
    signal?.throwIfAborted();
    await requireDirectory(directory, { code: 'image-not-found', message: `no image directory at ${directory}` });
    // Read once at open: the image exists exactly when its manifest does, and later calls then
    // serve the manifest that was checked. Its type is always guessed, as containers/image does.
    const path = join(directory, 'manifest.json');
    const bytes = await readSmallFile(
      path,
      MAX_MANIFEST_BYTES,
      { code: 'image-not-found', message: `${directory} holds no image: it has no manifest.json` },
      signal,
    );
    return new DirSource({ reference, directory, manifest: { bytes, mediaType: guessedMediaType(bytes, path) } });
  }
}
