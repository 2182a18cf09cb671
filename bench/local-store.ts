/**
 * (l) A layer from local storage: an overlay store (written by buildah) whose image holds one
 * file of random bytes, its layer read through the proxy (`containers-storage:`, rebuilt from the
 * tar-split record and the layer directory, verified against the diff ID) beside `skopeo copy
 * containers-storage:… dir:` writing the same layer, each timed end to end; the proxy's peak RSS.
 *
 * Alone: `node dist/bench/local-store.js [--size 1g] [--runs 3]` (after `npm run build`).
 */
import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildah, type LocalStore, makeStore, removeStore } from '../test/support/local-stores.js';
import { run } from '../test/support/registry/processes.js';
import { median, type Paths, proxyBlob } from './measure.js';

const MIB = 1024 * 1024;

export interface LocalStoreFigures {
  readonly size: number;
  readonly proxyMibPerS: number;
  readonly proxyRunsMibPerS: readonly number[];
  readonly proxyPeakRssBytes: number;
  readonly skopeoDirMibPerS: number;
  readonly skopeoRunsMibPerS: readonly number[];
}

/** A file of random bytes, written in 16 MiB pieces. */
async function randomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const piece = Buffer.alloc(Math.min(size, 16 * MIB));
  for (let written = 0; written < size; written += piece.length) {
    const chunk = piece.subarray(0, Math.min(piece.length, size - written));
    randomFillSync(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** The diff ID of the image's top layer, from the store's own records. */
async function topDiffId(store: LocalStore, name: string): Promise<string> {
  const images = JSON.parse(await readFile(join(store.graphRoot, 'overlay-images', 'images.json'), 'utf8')) as { names?: string[]; layer: string }[];
  const layers = JSON.parse(await readFile(join(store.graphRoot, 'overlay-layers', 'layers.json'), 'utf8')) as {
    id: string;
    'diff-digest': string;
    'diff-size': number;
  }[];
  const image = images.find((i) => i.names?.includes(name));
  const layer = layers.find((l) => l.id === image?.layer);
  if (layer === undefined) throw new Error(`${name} has no layer in the store`);
  return layer['diff-digest'];
}

export async function localStoreFigures(paths: Paths, size: number, runs: number, log: (line: string) => void): Promise<LocalStoreFigures> {
  const work = await mkdtemp(join(tmpdir(), 'bench-local-store-'));
  let store: LocalStore | undefined;
  try {
    store = await makeStore(work, 'overlay', 'overlay');
    const files = join(work, 'files');
    await mkdir(files);
    log(`local store: a ${size / MIB} MiB random layer, committed with buildah`);
    await randomFile(join(files, 'random.bin'), size);
    const container = (await buildah(store, ['from', 'scratch'])).stdout.trim();
    await buildah(store, ['copy', container, join(files, 'random.bin'), '/random.bin']);
    const name = 'localhost/bench/local:1';
    await buildah(store, ['commit', '--quiet', container, name]);
    await buildah(store, ['rm', container]);
    await rm(files, { recursive: true });
    const image = `containers-storage:${store.spec}${name}`;
    const diffId = await topDiffId(store, name);
    const layerSize = (
      JSON.parse(await readFile(join(store.graphRoot, 'overlay-layers', 'layers.json'), 'utf8')) as { 'diff-digest': string; 'diff-size': number }[]
    ).find((l) => l['diff-digest'] === diffId)!['diff-size'];

    log(`local store: skopeo copy ${image} dir: ×${runs}`);
    const skopeoRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = join(work, `dir-${i}`);
      const started = performance.now();
      await run('skopeo', ['copy', '--quiet', image, `dir:${out}`], { timeoutMs: 600_000 });
      skopeoRuns.push(layerSize / MIB / ((performance.now() - started) / 1000));
      await rm(out, { recursive: true, force: true });
    }
    log(`local store: GET /blobs/${diffId} through the proxy ×${runs}`);
    const proxy = await proxyBlob(paths, ['--insecure-policy', image], diffId, layerSize, runs);
    return {
      size: layerSize,
      proxyMibPerS: proxy.mibPerS,
      proxyRunsMibPerS: proxy.runsMibPerS,
      proxyPeakRssBytes: proxy.peakRssBytes,
      skopeoDirMibPerS: median(skopeoRuns),
      skopeoRunsMibPerS: skopeoRuns,
    };
  } finally {
    if (store !== undefined) await removeStore(store);
    await rm(work, { recursive: true, force: true });
  }
}

export function formatLocalStore(figures: LocalStoreFigures): string {
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
  const ratio = figures.proxyMibPerS / figures.skopeoDirMibPerS;
  return [
    `(l) a ${mib(figures.size)} layer from an overlay store (containers-storage:)`,
    `    proxy GET /blobs/<diff ID>: ${figures.proxyMibPerS.toFixed(0)} MiB/s (runs ${figures.proxyRunsMibPerS.map((r) => r.toFixed(0)).join(', ')}), peak RSS ${mib(figures.proxyPeakRssBytes)}`,
    `    skopeo copy … dir:        ${figures.skopeoDirMibPerS.toFixed(0)} MiB/s (runs ${figures.skopeoRunsMibPerS.map((r) => r.toFixed(0)).join(', ')})`,
    `    proxy / skopeo: ${ratio.toFixed(2)} (target ≥ 1.0: ${ratio >= 1 ? 'met' : 'missed'})`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '1g' }, runs: { type: 'string', default: '3' } } });
  const match = /^(\d+)([mg])$/i.exec(values.size);
  if (!match) throw new Error(`--size wants e.g. 256m or 1g, not ${values.size}`);
  const size = Number(match[1]) * (match[2]!.toLowerCase() === 'g' ? 1024 * MIB : MIB);
  const cli = fileURLToPath(new URL('../src/bin/container-image-proxy.cjs', import.meta.url));
  const skopeoClient = fileURLToPath(new URL('../../bench/skopeo-proxy.py', import.meta.url));
  const figures = await localStoreFigures({ cli, skopeoClient }, size, Number(values.runs), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(formatLocalStore(figures));
}
