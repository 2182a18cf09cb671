import { type Readable } from 'node:stream';

/** Error bodies are diagnostics only: never read more than this. */
export const ERROR_BODY_CAP = 64 * 1024;

/**
 * Reads a body up to `cap` bytes. Returns `undefined` when the body is larger; the stream is
 * destroyed then, so the connection is dropped rather than drained.
 */
export async function readCapped(body: Readable, cap: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > cap) return undefined;
      chunks.push(chunk);
    }
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** Reads a body we do not need (redirects, errors past their cap) so the socket can be reused. */
export async function discard(body: Readable): Promise<void> {
  await readCapped(body, ERROR_BODY_CAP).catch(() => undefined);
}
