import { isProxyError, ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { parseJsonFile } from '../oci-layout/local-files.js';
import { checkLayoutVersion, type LayoutDescriptor, parseLayoutIndex, selectDescriptor } from '../oci-layout/oci-index.js';
import { MAX_ARCHIVE_INDEX_BYTES } from './archive-limits.js';
import { OciArchiveSource } from './oci-archive-source.js';
import { TarIndex } from './tar-index.js';

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
    checkLayoutVersion(parseJsonFile(await readTopFile(archive, 'oci-layout', signal), `${archive.path}: oci-layout`), `${archive.path}: oci-layout`);
    const indexName = `${archive.path}: index.json`;
    const descriptors = parseLayoutIndex(parseJsonFile(await readTopFile(archive, 'index.json', signal), indexName), indexName);
    const descriptor = choose(descriptors, reference.reference, archive.path);
    return new OciArchiveSource({ reference, archive, descriptor, indexDescriptors: descriptors });
  }
}

async function readTopFile(archive: TarIndex, name: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const entry = archive.find(name);
  if (entry === undefined) throw new ProxyError('manifest-invalid', `${archive.path} is not an OCI archive: it has no ${name}`);
  return archive.read(entry, MAX_ARCHIVE_INDEX_BYTES, signal);
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
