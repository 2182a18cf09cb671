import { join } from 'node:path';
import { type BlobBody } from '../../ports/transport.js';
import { type LayoutFiles } from './layout-files.js';
import { type MissingFile, readSmallFile, streamFile } from './local-files.js';

/** An OCI layout as a directory on disk. */
export class DirectoryLayoutFiles implements LayoutFiles {
  readonly description: string;

  constructor(private readonly layout: string) {
    this.description = `OCI layout ${layout}`;
  }

  nameOf(relativePath: string): string {
    return join(this.layout, relativePath);
  }

  read(relativePath: string, limit: number, missing: MissingFile, signal?: AbortSignal): Promise<Uint8Array> {
    return readSmallFile(this.nameOf(relativePath), limit, missing, signal);
  }

  stream(relativePath: string, missing: MissingFile, signal?: AbortSignal): Promise<BlobBody> {
    return streamFile(this.nameOf(relativePath), missing, signal);
  }
}
