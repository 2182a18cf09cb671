import { ProxyError } from '../../domain/errors.js';
import { type BlobBody } from '../../ports/transport.js';
import { type LayoutFiles } from '../oci-layout/layout-files.js';
import { type MissingFile } from '../oci-layout/local-files.js';
import { type TarEntry, type TarIndex } from './tar-index.js';

/** An OCI layout packed in a tar archive, read in place through the archive's index. */
export class TarLayoutFiles implements LayoutFiles {
  readonly description: string;

  constructor(private readonly archive: TarIndex) {
    this.description = `OCI archive ${archive.path}`;
  }

  nameOf(relativePath: string): string {
    return `${this.archive.path}: ${relativePath}`;
  }

  async read(relativePath: string, limit: number, missing: MissingFile, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    return this.archive.read(this.entry(relativePath, missing), limit, signal);
  }

  async stream(relativePath: string, missing: MissingFile, signal?: AbortSignal): Promise<BlobBody> {
    signal?.throwIfAborted();
    const entry = this.entry(relativePath, missing);
    return { stream: this.archive.stream(entry, signal), size: entry.size };
  }

  private entry(relativePath: string, missing: MissingFile): TarEntry {
    const entry = this.archive.find(relativePath);
    if (entry === undefined) throw new ProxyError(missing.code, missing.message);
    return entry;
  }
}
