import { ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { DirectoryLayoutFiles } from './directory-layout-files.js';
import { readLayoutIndex } from './layout-files.js';
import { requireDirectory } from './local-files.js';
import { selectDescriptor } from './oci-index.js';
import { OciLayoutSource } from './oci-layout-source.js';

/**
 * `oci:PATH[:REF|@INDEX]`: images in an OCI image layout directory. Foreign-layer URLs are not
 * followed: a local layout serves only the blobs it holds.
 */
export class OciLayoutTransport implements Transport {
  readonly name: TransportName = 'oci';

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'oci') {
      throw new ProxyError('internal', `the oci transport was asked to open a ${reference.transport} reference`);
    }
    const layout = reference.path;
    signal?.throwIfAborted();
    await requireDirectory(layout, { code: 'image-not-found', message: `no OCI layout at ${layout}` });
    const files = new DirectoryLayoutFiles(layout);
    const descriptors = await readLayoutIndex(
      files,
      {
        layoutFile: { code: 'image-not-found', message: `${layout} is not an OCI layout: it has no oci-layout file` },
        index: { code: 'image-not-found', message: `${layout} is not an OCI layout: it has no index.json` },
      },
      signal,
    );
    const descriptor = selectDescriptor(descriptors, reference, layout);
    return new OciLayoutSource({ reference, files, descriptor, indexDescriptors: descriptors, peekLayers: true });
  }
}
