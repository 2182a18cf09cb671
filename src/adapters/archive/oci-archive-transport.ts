import { isProxyError, ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { readLayoutIndex } from '../oci-layout/layout-files.js';
import { type LayoutDescriptor, selectDescriptor } from '../oci-layout/oci-index.js';
import { OciLayoutSource } from '../oci-layout/oci-layout-source.js';
import { TarIndex } from './tar-index.js';
import { TarLayoutFiles } from './tar-layout-files.js';

/**
 * `oci-archive:PATH[:REF]`: an OCI image layout packed in a tar file (optionally gzip or zstd
 * compressed). containers/image unpacks it to a temporary directory; this reads the entries in place.
 */
export class OciArchiveTransport implements Transport {
  readonly name: TransportName = 'oci-archive';

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'oci-archive') {
      throw new ProxyError('internal', `the oci-archive transport was asked to open a ${reference.transport} reference`);
    }
    const archive = await TarIndex.build(reference.path, signal);
    const files = new TarLayoutFiles(archive);
    const descriptors = await readLayoutIndex(
      files,
      {
        layoutFile: { code: 'manifest-invalid', message: `${archive.path} is not an OCI archive: it has no oci-layout` },
        index: { code: 'manifest-invalid', message: `${archive.path} is not an OCI archive: it has no index.json` },
      },
      signal,
    );
    const descriptor = choose(descriptors, reference.reference, archive.path);
    // Each read of a compressed archive decompresses it from the start: too dear for a peek per layer.
    return new OciLayoutSource({ reference, files, descriptor, indexDescriptors: descriptors, peekLayers: archive.compression === 'none' });
  }
}

/** The layout's selection rules, reported against the archive (which has no `@INDEX` form). */
function choose(descriptors: readonly LayoutDescriptor[], name: string | undefined, path: string): LayoutDescriptor {
  if (name === undefined && descriptors.length > 1) {
    throw new ProxyError('invalid-reference', `oci-archive:${path} holds ${descriptors.length} images, choose one with oci-archive:${path}:NAME`);
  }
  try {
    return selectDescriptor(descriptors, { reference: name }, path);
  } catch (err) {
    if (!isProxyError(err)) throw err;
    throw new ProxyError(err.code, err.message.replace(/^oci:/, 'oci-archive:'), { cause: err });
  }
}
