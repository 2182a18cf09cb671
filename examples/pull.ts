/**
 * Pulls every layer of an image, as stored, into DIR/blobs/ALGORITHM/HEX through the package's
 * TypeScript client, with the client's `onProgress`: a progress bar on stderr when it is a
 * terminal, plain lines otherwise. The proxy verifies each layer as it streams; a layer is renamed
 * to its digest only once it arrived whole, so a failed pull leaves no complete-looking file.
 * SIGINT (Ctrl-C) and SIGTERM cancel the layer being read: its partial file is removed, and the
 * pull exits with 128 + the signal's number, as a shell reports a process killed so.
 *
 *   node dist/examples/pull.js IMAGE DIR [PROXY OPTIONS...]
 *   node dist/examples/pull.js docker://quay.io/org/image:tag layers --policy policy.json
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ImageProxy, ImageProxyError, type LayerInfo, type Progress } from '../src/client/index.js';
import { formatBytes, ProgressDisplay } from './progress-display.js';

/** An OCI digest (`algorithm:encoded`): nothing in it can leave DIR as a path. */
const DIGEST = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Aborted by SIGINT or SIGTERM; the reason names the signal. */
const interruption = new AbortController();
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  // Once: a second Ctrl-C ends the process at once, as it would without this.
  process.once(name, () => interruption.abort(name));
}

async function pullLayer(proxy: ImageProxy, layer: LayerInfo, target: string, display: ProgressDisplay, index: number, count: number): Promise<void> {
  const partial = `${target}.partial`;
  await mkdir(dirname(target), { recursive: true });
  try {
    const onProgress = (progress: Progress): void => display.update({ ...progress, index, count });
    const blob = await proxy.blob(layer.digest, { onProgress, signal: interruption.signal });
    await pipeline(blob, createWriteStream(partial));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    display.end();
  }
}

async function pull(proxy: ImageProxy, dir: string): Promise<void> {
  const layers = await proxy.layers(undefined, { signal: interruption.signal });
  const display = new ProgressDisplay(process.stderr);
  let total = 0;
  for (const [i, layer] of layers.entries()) {
    const parts = DIGEST.exec(layer.digest);
    if (!parts) throw new Error(`the proxy listed a layer digest that is not one: ${JSON.stringify(layer.digest)}`);
    await pullLayer(proxy, layer, join(dir, 'blobs', parts[1]!, parts[2]!), display, i + 1, layers.length);
    total += layer.size;
  }
  await proxy.quit();
  console.log(`pulled ${layers.length} layer(s), ${formatBytes(total)}, into ${join(dir, 'blobs')}`);
}

const [image, dir, ...proxyOptions] = process.argv.slice(2);
if (image === undefined || dir === undefined || image.startsWith('-')) {
  console.error('usage: pull IMAGE DIR [PROXY OPTIONS...]');
  process.exit(2);
}
const proxy = await ImageProxy.spawn({ image, args: proxyOptions });
await pull(proxy, dir).catch(async (err: unknown) => {
  const signal = interruption.signal.aborted ? (interruption.signal.reason as keyof typeof SIGNAL_NUMBERS) : undefined;
  const why =
    signal !== undefined
      ? `interrupted by ${signal}`
      : err instanceof ImageProxyError
        ? `[${err.code}] ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
  console.error(`pull ${image}: ${why}`);
  await proxy.kill();
  process.exitCode = signal !== undefined ? 128 + SIGNAL_NUMBERS[signal] : 1;
});
