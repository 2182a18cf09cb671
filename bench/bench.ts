/**
 * `npm run bench [-- --size 1g | --sizes 256m,1g] [--reader-sizes 256m,1g] [--runs N] [--startup-runs N] [--token-blobs N] [--network-size 1g] [--network-only] [--local-store-size 1g]`
 *
 * One run, on loopback: starts docker-registry (anonymous, and token-auth for the token
 * count), pushes random layers, and compares both forms of the proxy (the npm bin and the single
 * executable) with `curl | openssl dgst` and skopeo's experimental-image-proxy: verified GET
 * /blobs and its peak RSS, spawn → manifest with its CPU time and RSS; counts token requests;
 * reads the same blobs with a plain Python reader (http.client, hashlib) directly, through the proxy and through
 * Node.js alone doing the proxy's work, with the CPU each side spends; then a large blob on a
 * registry capped per connection behind a delaying front, and on the plain and a TLS registry
 * (bench/network.ts, alone with --network-only). Prints tables with the targets and writes
 * .bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureRegistryTools } from '../test/support/registry/install.js';
import { startRegistry, type RunningRegistry } from '../test/support/registry/registry-server.js';
import { pushRandomImage } from './image.js';
import { parallelBlobs, pipelineDecompressed, proxyDecompressed, pushGzipImage } from './layers.js';
import { formatLocalStore, localStoreFigures, type LocalStoreFigures } from './local-store.js';
import { curlBlob, fetchEveryBlob, type Paths, proxyBlob, skopeoBlob } from './measure.js';
import { checkNetworkTargets, formatNetwork, networkFigures, type NetworkFigures } from './network.js';
import { pythonReaderComparison, unixCurlBlob } from './reader-comparison.js';
import { checkTargets, type FormBlobResult, formatResults, type ReaderResult, type Results, type SizeResult } from './report.js';
import { measureStartup, proxyContender, skopeoContender } from './startup-measure.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BENCH_TIMEOUT_MS = 30 * 60_000;
const TOKEN_LAYER_SIZE = 1024 * 1024;
const EXTRA_TOOLS = ['curl', 'python3'];
const PYTHON_READER = join(REPO_ROOT, 'bench', 'python-reader.py');
/** Node.js alone on the blob path, for the reader comparison's floor. */
const HOP_FLOOR = join(REPO_ROOT, 'bench', 'hop-floor.cjs');
/** Made by `npm run build:exe`, which `npm run bench` runs first. */
const EXECUTABLE = join(REPO_ROOT, 'dist/exe/container-image-proxy');

/** The two forms a user runs: the npm package's bin (on this Node) and the single executable. */
interface Form {
  readonly name: string;
  readonly paths: Paths;
}

function parseSize(text: string): number {
  const match = /^(\d+)([kmg]?)(i?b)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 256m, 1g)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

interface BenchOptions {
  readonly sizes: string[];
  readonly readerSizes: string[];
  readonly runs: number;
  readonly startupRuns: number;
  readonly tokenBlobs: number;
  /** `--network-only`: only the capped, plain and TLS registry figures (bench/network.ts). */
  readonly networkOnly: boolean;
  readonly networkSize: number;
  /** `--local-store-size`: the layer read from an overlay store, beside skopeo's dir: copy of it. */
  readonly localStoreSize: number;
}

function options(): BenchOptions {
  const { values } = parseArgs({
    options: {
      'network-only': { type: 'boolean', default: false },
      'network-size': { type: 'string', default: '1g' },
      size: { type: 'string' },
      sizes: { type: 'string' },
      'reader-sizes': { type: 'string', default: '256m,1g' },
      runs: { type: 'string', default: '3' },
      'startup-runs': { type: 'string', default: '10' },
      'token-blobs': { type: 'string', default: '8' },
      'local-store-size': { type: 'string', default: '1g' },
    },
  });
  // --size 1g also runs 256m: the RSS target compares the two.
  const sizes = values.sizes?.split(',') ?? (values.size === undefined ? ['256m'] : [...new Set(['256m', values.size])]);
  const count = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, not ${JSON.stringify(text)}`);
    return n;
  };
  return {
    sizes,
    readerSizes: values['reader-sizes'].split(','),
    runs: count('runs', values.runs),
    startupRuns: count('startup-runs', values['startup-runs']),
    tokenBlobs: count('token-blobs', values['token-blobs']),
    networkOnly: values['network-only'],
    networkSize: parseSize(values['network-size']),
    localStoreSize: parseSize(values['local-store-size']),
  };
}

/** The start-up contender that is Node.js alone doing the same requests (bench/node-floor.cjs). */
const NODE_FLOOR = 'Node.js alone';

function paths(): Paths {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin['container-image-proxy'];
  if (bin === undefined) throw new Error('package.json names no container-image-proxy bin');
  return { cli: resolve(REPO_ROOT, bin), skopeoClient: join(REPO_ROOT, 'bench', 'skopeo-proxy.py') };
}

function forms(p: Paths): Form[] {
  if (!existsSync(EXECUTABLE)) throw new Error(`${EXECUTABLE} is missing: run npm run build:exe (npm run bench does)`);
  return [
    { name: 'npm bin', paths: p },
    { name: 'executable', paths: { ...p, cli: EXECUTABLE } },
  ];
}

function requireTools(): void {
  const status = ensureRegistryTools();
  if (!status.ready) throw new Error(status.reason);
  const missing = EXTRA_TOOLS.filter((tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(', ')} (install them, e.g. apt-get install ${missing.join(' ')})`);
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** One random layer per size label, pushed on first use and shared by every figure of that size. */
type BlobImages = (label: string) => Promise<{ bytes: number; reference: string; digest: string; url: string }>;

function blobImages(registry: RunningRegistry): BlobImages {
  const pushed = new Map<string, Promise<{ bytes: number; reference: string; digest: string; url: string }>>();
  return (label) => {
    let image = pushed.get(label);
    if (image === undefined) {
      const bytes = parseSize(label);
      log(`pushing a random ${label} layer`);
      image = pushRandomImage(registry, `bench/blob-${label}`, 'latest', [bytes]).then(({ reference, layers }) => {
        const { digest } = layers[0]!;
        return { bytes, reference, digest, url: `${registry.url}/v2/bench/blob-${label}/blobs/${digest}` };
      });
      pushed.set(label, image);
    }
    return image;
  };
}

async function throughput(p: Paths, all: readonly Form[], images: BlobImages, label: string, runs: number): Promise<SizeResult> {
  const image = await images(label);
  const { bytes, digest } = image;
  const proxyArgs = ['--tls-verify=false', '--insecure-policy', image.reference];
  const proxies: FormBlobResult[] = [];
  for (const form of all) {
    log(`${label}: (a) proxy (${form.name}) GET /blobs ×${runs}`);
    const proxy = await proxyBlob(form.paths, proxyArgs, digest, bytes, runs);
    proxies.push({ form: form.name, mibPerS: proxy.mibPerS, peakRssBytes: proxy.peakRssBytes, runs: proxy.runsMibPerS });
  }
  log(`${label}: (b) curl | openssl dgst ×${runs}`);
  const curl = await curlBlob(image.url, digest, bytes, runs);
  log(`${label}: (c) skopeo GetBlob ×${runs}`);
  const skopeo = await skopeoBlob(p, image.reference, digest, bytes, runs);
  return {
    label,
    bytes,
    proxies,
    curlMibPerS: curl.mibPerS,
    skopeoMibPerS: skopeo.mibPerS,
    skopeoPeakRssBytes: skopeo.peakRssBytes,
    runs: { curl: curl.runsMibPerS, skopeo: skopeo.runsMibPerS },
  };
}

/** The hop's cost to a plain client: the same Python reader directly, through the proxy and through Node.js alone, with the CPU each costs. */
async function readerFigures(p: Paths, images: BlobImages, label: string, runs: number): Promise<ReaderResult> {
  const { bytes, digest, reference, url } = await images(label);
  const proxyArgs = ['--tls-verify=false', '--insecure-policy', reference];
  log(`${label}: (f) Python reader direct and (g) through the proxy, alternating ×${runs}`);
  const python = await pythonReaderComparison(p.cli, PYTHON_READER, url, proxyArgs, digest, bytes, runs);
  log(`${label}: (i) the same through Node.js alone (bench/hop-floor.cjs), alternating with direct reads ×${runs}`);
  const nodeFloor = await pythonReaderComparison(HOP_FLOOR, PYTHON_READER, url, proxyArgs, digest, bytes, runs);
  log(`${label}: curl | openssl dgst CPU ×${runs}, (h) curl --unix-socket through the proxy (--listen unix:) ×${runs}`);
  const curl = await curlBlob(url, digest, bytes, runs);
  const unixCurlMibPerS = await unixCurlBlob(p.cli, proxyArgs, digest, bytes, runs);
  return { label, bytes, python, nodeFloor, curlCpuSPerGiB: curl.cpuSPerGiB, unixCurlMibPerS };
}

async function tokenCount(p: Paths, blobs: number): Promise<Results['tokens']> {
  const registry = await startRegistry({ kind: 'token' });
  try {
    const image = await pushRandomImage(
      registry,
      'bench/tokens',
      'latest',
      Array.from({ length: blobs }, () => TOKEN_LAYER_SIZE),
    );
    registry.tokenIssuer!.resetCounts();
    const { user, pass } = registry.pushCredentials!;
    log(`token count: manifest, config and ${blobs} layers with --creds`);
    const fetched = await fetchEveryBlob(p, ['--tls-verify=false', '--insecure-policy', '--creds', `${user}:${pass}`, image.reference], image.layers);
    const perScope: Record<string, number> = {};
    for (const request of registry.tokenIssuer!.requests) perScope[request.scope] = (perScope[request.scope] ?? 0) + 1;
    return { blobFetches: fetched, tokenRequests: registry.tokenIssuer!.requests.length, perScope };
  } finally {
    await registry.stop();
  }
}

const PARALLEL_LAYERS = 4;
const PARALLEL_LAYER_SIZE = 64 * 1024 * 1024;
const DECOMPRESSED_SIZE = 256 * 1024 * 1024;

/** A decompressed layer against a shell pipeline, 4 connections against 1. */
async function layerFigures(p: Paths, registry: RunningRegistry, runs: number): Promise<Pick<Results, 'decompressed' | 'parallel'>> {
  log('decompressed layer: pushing a 256 MiB (uncompressed) gzip layer');
  const gz = await pushGzipImage(registry, 'bench/gzip', DECOMPRESSED_SIZE);
  const args = ['--tls-verify=false', '--insecure-policy'];
  log(`decompressed layer: (d) proxy ?decompress=true ×${runs}, (e) curl | gzip -dc | sha256sum ×${runs}`);
  const decompressed = { proxyMibPerS: await proxyDecompressed(p, args, gz, runs), pipelineMibPerS: await pipelineDecompressed(gz, runs) };
  log(`parallel: ${PARALLEL_LAYERS} × 64 MiB layers over 1 and ${PARALLEL_LAYERS} connections ×${runs}`);
  const image = await pushRandomImage(
    registry,
    'bench/parallel',
    'latest',
    Array.from({ length: PARALLEL_LAYERS }, () => PARALLEL_LAYER_SIZE),
  );
  const one = await parallelBlobs(p, [...args, image.reference], image.layers, 1, runs);
  const many = await parallelBlobs(p, [...args, image.reference], image.layers, PARALLEL_LAYERS, runs);
  return { decompressed, parallel: { connections: PARALLEL_LAYERS, oneMibPerS: one, manyMibPerS: many } };
}

/** `--network-only`: the blob on a capped, a plain and a TLS registry, on its own (a few minutes). */
async function networkOnly(p: Paths, opts: BenchOptions): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const figures = await networkFigures(p, opts.networkSize, opts.runs, log);
  process.stdout.write(`load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs\n\n`);
  process.stdout.write(formatNetwork(figures, checkNetworkTargets(figures)));
  writeResults(
    { when: new Date().toISOString(), loadBefore, loadAfter: loadavg()[0]!, network: figures, targets: checkNetworkTargets(figures) },
    'network.json',
  );
}

function writeResults(results: unknown, name: string): void {
  const out = join(REPO_ROOT, '.bench', name);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${out}`);
}

async function main(): Promise<void> {
  const opts = options();
  const p = paths();
  requireTools();
  if (opts.networkOnly) return networkOnly(p, opts);
  const all = forms(p);
  const loadBefore = loadavg()[0]!;
  const registry = await startRegistry({ kind: 'anonymous' });
  let results: Results;
  let network: NetworkFigures | undefined;
  let localStore: LocalStoreFigures | undefined;
  try {
    const images = blobImages(registry);
    const sizes: SizeResult[] = [];
    for (const label of opts.sizes) sizes.push(await throughput(p, all, images, label, opts.runs));
    const readers: ReaderResult[] = [];
    for (const label of opts.readerSizes) readers.push(await readerFigures(p, images, label, opts.runs));
    const layers = await layerFigures(p, registry, opts.runs);
    log(`spawn → manifest ×${opts.startupRuns}, ${all.map((f) => f.name).join(', ')}, ${NODE_FLOOR} and skopeo interleaved`);
    const small = await pushRandomImage(registry, 'bench/startup', 'latest', [TOKEN_LAYER_SIZE]);
    const args = ['--tls-verify=false', '--insecure-policy', small.reference];
    const floor = proxyContender(NODE_FLOOR, join(REPO_ROOT, 'bench', 'node-floor.cjs'), args);
    const contenders = [...all.map((form) => proxyContender(form.name, form.paths.cli, args)), floor, skopeoContender(p, small.reference)];
    const { figures } = await measureStartup(contenders, opts.startupRuns);
    const tokens = await tokenCount(p, opts.tokenBlobs);
    localStore = await localStoreFigures(p, opts.localStoreSize, opts.runs, log);
    log(`network: a ${opts.networkSize / 1024 ** 2} MiB blob on a capped, the plain and a TLS registry`);
    network = await networkFigures(p, opts.networkSize, opts.runs, log, registry);
    results = {
      when: new Date().toISOString(),
      machine: { cpus: availableParallelism(), node: process.versions.node, loadBefore, loadAfter: loadavg()[0]! },
      sizes,
      readers,
      startup: {
        forms: all.map((form) => ({ form: form.name, ...figures.get(form.name)! })),
        nodeFloor: figures.get(NODE_FLOOR)!,
        skopeo: figures.get('skopeo')!,
      },
      tokens,
      ...layers,
    };
  } finally {
    await registry.stop();
  }
  const checks = checkTargets(results);
  process.stdout.write(formatResults(results, checks));
  const networkChecks = network === undefined ? [] : checkNetworkTargets(network);
  if (network !== undefined) process.stdout.write(`\n${formatNetwork(network, networkChecks)}`);
  if (localStore !== undefined) process.stdout.write(`\n${formatLocalStore(localStore)}`);
  writeResults({ ...results, targets: checks, network, networkTargets: networkChecks, localStore }, 'results.json');
}

const watchdog = setTimeout(() => {
  log(`gave up after ${BENCH_TIMEOUT_MS / 60_000} minutes`);
  process.exit(1);
}, BENCH_TIMEOUT_MS);
main().then(
  () => {
    clearTimeout(watchdog);
  },
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
