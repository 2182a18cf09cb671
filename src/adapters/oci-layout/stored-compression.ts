import { detectCompression, type LayerCompression, MAGIC_LENGTH } from '../../domain/layers.js';
import { type BlobBody } from '../../ports/transport.js';

/**
 * The compression a stored layer's first bytes show, for storage where reading them costs one
 * small file read: local layouts keep what skopeo wrote, and skopeo keeps a docker archive's
 * plain tars typed gzip. Undefined when the bytes cannot be read (a layout may lack a layer and
 * still serve the others) or show a compression a layer entry cannot report (bzip2, xz): the
 * media type then stands, and a decompressed read detects again.
 */
export async function storedCompression(open: () => Promise<BlobBody>): Promise<LayerCompression | undefined> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    // Leaving the loop destroys the stream: only the first chunk is read from disk.
    for await (const chunk of (await open()).stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= MAGIC_LENGTH) break;
    }
  } catch {
    return undefined;
  }
  const detected = detectCompression(Buffer.concat(chunks));
  return detected === 'bzip2' || detected === 'xz' ? undefined : detected;
}
