import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { parseJsonFile, readSmallFile, requireDirectory } from './local-files.js';
import { checkLayoutVersion, parseLayoutIndex, selectDescriptor } from './oci-index.js';
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

    const layoutFile = join(layout, 'oci-layout');
    const layoutBytes = await readSmallFile(layoutFile, { code: 'image-not-found', message: `${layout} is not an OCI layout: it has no oci-layout file` }, signal);
    checkLayoutVersion(parseJsonFile(layoutBytes, layoutFile), layoutFile);

    const indexFile = join(layout, 'index.json');
    const indexBytes = await readSmallFile(indexFile, { code: 'image-not-found', message: `${layout} is not an OCI layout: it has no index.json` }, signal);
    const descriptors = parseLayoutIndex(parseJsonFile(indexBytes, indexFile), indexFile);
    const chosen = selectDescriptor(descriptors, reference, layout);
    return new OciLayoutSource({ reference, layout, descriptor: chosen, indexDescriptors: descriptors });
  }
}
