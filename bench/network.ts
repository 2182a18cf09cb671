import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startCappedFront } from '../test/support/capped-front.js';
import { run } from '../test/support/registry/processes.js';
import { startRegistry, type RunningRegistry } from '../test/support/registry/registry-server.js';
import { pushRandomImage } from './image.js';
import { spawnLeanProxy } from './lean-client.js';
import { median, type Paths, skopeoClient } from './measure.js';

/**
 * A large blob on the registries users have, not just loopback: one far away that caps each
 * connection (a TCP front on loopback pacing each connection to CAP and adding DELAY_MS to
 * every request, test/support/capped-front.ts), the plain registry and a TLS one. On each, in
 * one interleaved run: the proxy with its defaults, the proxy on one stream
 * (`--max-parallel-per-blob 1`), skopeo's proxy and `curl | openssl dgst` as one direct stream;
 * rate, the proxy's CPU per GiB and its peak RSS. Every contender checks the digest.
 */

const MIB = 1024 * 1024;
export const CAP_BYTES_PER_S = 20 * MIB;
export const DELAY_MS = 40;
/** The capped registry's one-stream contenders take ~size / CAP each: once is enough there. */
const CAPPED_RUNS = 1;

export interface Contender {
  readonly name: string;
  readonly mibPerS: number;
  /** user+sys of the proxy process during the GET, per GiB (proxies only). */
  readonly cpuSPerGiB?: number;
  readonly peakRssBytes?: number;
  readonly runs: readonly number[];
}

export interface NetworkResult {
  readonly registry: string;
  readonly contenders: readonly Contender[];
}

export interface NetworkFigures {
  readonly bytes: number;
  readonly results: readonly NetworkResult[];
}

interface Target {
  readonly label: string;
  /** `HOST:PORT` as references and URLs name it. */
  readonly host: string;
  readonly tls: boolean;
  readonly runs: number;
}

interface OneRun {
  readonly mibPerS: number;
  readonly cpuS?: number;
  readonly peakRssBytes?: number;
}

const CLOCK_TICKS_PER_S = 100;

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5); here counted from field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

async function proxyRun(paths: Paths, target: Target, digest: string, size: number, extra: readonly string[]): Promise<OneRun> {
  const proxy = spawnLeanProxy(paths.cli, ['--tls-verify=false', '--insecure-policy', ...extra, `docker://${target.host}/bench/network:latest`]);
  try {
    const manifest = await proxy.http.request('GET', '/manifest');
    if (manifest.status !== 200) throw new Error(`proxy GET /manifest answered ${manifest.status}: ${proxy.stderr()}`);
    const pid = proxy.child.pid!;
    const cpuBefore = cpuSecondsOf(pid);
    const started = performance.now();
    const answer = await proxy.http.request('GET', `/blobs/${digest}`);
    const ms = performance.now() - started;
    // The proxy sends a complete body only once its digest has been checked.
    if (answer.status !== 200 || answer.bytes !== size) throw new Error(`proxy served ${answer.bytes} of ${size} bytes (${answer.status}): ${proxy.stderr()}`);
    const cpuS = cpuSecondsOf(pid) - cpuBefore;
    const peakRssBytes = proxy.peakRss();
    await proxy.quit();
    return { mibPerS: size / MIB / (ms / 1000), cpuS, peakRssBytes };
  } finally {
    proxy.kill();
  }
}

async function curlRun(target: Target, digest: string, size: number): Promise<OneRun> {
  const url = `${target.tls ? 'https' : 'http'}://${target.host}/v2/bench/network/blobs/${digest}`;
  const started = performance.now();
  const { stdout } = await run('sh', ['-c', 'curl -sfk "$1" | openssl dgst -sha256 -r', 'sh', url], { timeoutMs: 600_000 });
  const ms = performance.now() - started;
  if (`sha256:${stdout.split(' ')[0]}` !== digest) throw new Error(`curl | openssl: ${url} hashed to ${stdout.trim()}, expected ${digest}`);
  return { mibPerS: size / MIB / (ms / 1000) };
}

async function skopeoRun(paths: Paths, target: Target, digest: string, size: number): Promise<OneRun> {
  const report = await skopeoClient(paths, ['blob', `docker://${target.host}/bench/network:latest`, digest]);
  if (report.bytes !== size || report.mib_per_s === undefined) throw new Error(`skopeo GetBlob read ${report.bytes} bytes of ${digest}, expected ${size}`);
  return { mibPerS: report.mib_per_s };
}

function summary(name: string, runs: readonly OneRun[], size: number): Contender {
  const rates = runs.map((r) => r.mibPerS);
  const cpu = runs.flatMap((r) => (r.cpuS === undefined ? [] : [r.cpuS]));
  const rss = runs.flatMap((r) => (r.peakRssBytes === undefined ? [] : [r.peakRssBytes]));
  return {
    name,
    mibPerS: median(rates),
    runs: rates,
    ...(cpu.length > 0 ? { cpuSPerGiB: median(cpu) / (size / 1024 ** 3) } : {}),
    ...(rss.length > 0 ? { peakRssBytes: Math.max(...rss) } : {}),
  };
}

export const PROXY_DEFAULTS = 'proxy, defaults';
export const PROXY_ONE_STREAM = 'proxy, one stream';
export const SKOPEO = 'skopeo proxy';
export const CURL = 'curl | openssl, one stream';

async function measureTarget(paths: Paths, target: Target, digest: string, size: number, log: (line: string) => void): Promise<NetworkResult> {
  const contenders: readonly [string, () => Promise<OneRun>][] = [
    [PROXY_DEFAULTS, () => proxyRun(paths, target, digest, size, [])],
    [PROXY_ONE_STREAM, () => proxyRun(paths, target, digest, size, ['--max-parallel-per-blob', '1'])],
    [SKOPEO, () => skopeoRun(paths, target, digest, size)],
    [CURL, () => curlRun(target, digest, size)],
  ];
  const runs = new Map<string, OneRun[]>(contenders.map(([name]) => [name, []]));
  for (let i = 0; i < target.runs; i++) {
    for (const [name, measure] of contenders) {
      const result = await measure();
      log(`${target.label}: ${name}: ${result.mibPerS.toFixed(0)} MiB/s`);
      runs.get(name)!.push(result);
    }
  }
  return { registry: target.label, contenders: contenders.map(([name]) => summary(name, runs.get(name)!, size)) };
}

/**
 * The three registries, each with the same random blob. `plain` is the bench's own registry when
 * it runs whole; started here otherwise.
 */
export async function networkFigures(
  paths: Paths,
  size: number,
  uncappedRuns: number,
  log: (line: string) => void,
  given?: RunningRegistry,
): Promise<NetworkFigures> {
  const plain = given ?? (await startRegistry({ kind: 'anonymous' }));
  const tls = await startRegistry({ kind: 'tls' });
  const [host, port] = plain.host.split(':');
  const front = await startCappedFront({ target: { host: host!, port: Number(port) }, bytesPerSecond: CAP_BYTES_PER_S, delayMs: DELAY_MS });
  try {
    log(`network: pushing a random ${size / MIB} MiB layer to the plain and the TLS registry`);
    const digest = (await pushRandomImage(plain, 'bench/network', 'latest', [size])).layers[0]!.digest;
    const onTls = (await pushRandomImage(tls, 'bench/network', 'latest', [size])).layers[0]!.digest;
    const targets: Target[] = [
      { label: `capped: ${CAP_BYTES_PER_S / MIB} MiB/s per connection, +${DELAY_MS} ms per request`, host: front.host, tls: false, runs: CAPPED_RUNS },
      { label: 'plain loopback', host: plain.host, tls: false, runs: uncappedRuns },
      { label: 'TLS loopback', host: tls.host, tls: true, runs: uncappedRuns },
    ];
    const results: NetworkResult[] = [];
    for (const target of targets) results.push(await measureTarget(paths, target, target.tls ? onTls : digest, size, log));
    return { bytes: size, results };
  } finally {
    await front.close();
    await tls.stop();
    if (given === undefined) await plain.stop();
  }
}

export interface NetworkCheck {
  readonly target: string;
  readonly met: boolean;
  readonly value: string;
}

function find(result: NetworkResult, name: string): Contender {
  return result.contenders.find((c) => c.name === name)!;
}

/** The targets: ≥ 5× skopeo and ≥ 5× one curl stream when capped, within 200 MiB; ≥ 0.95 of one stream on loopback. */
export function checkNetworkTargets(figures: NetworkFigures): NetworkCheck[] {
  const [capped, ...loopback] = figures.results;
  const checks: NetworkCheck[] = [];
  if (capped !== undefined) {
    const ours = find(capped, PROXY_DEFAULTS);
    const skopeoRatio = ours.mibPerS / find(capped, SKOPEO).mibPerS;
    const curlRatio = ours.mibPerS / find(capped, CURL).mibPerS;
    checks.push({ target: 'capped: proxy ≥ 5× skopeo', met: skopeoRatio >= 5, value: `${skopeoRatio.toFixed(1)}×` });
    checks.push({ target: 'capped: proxy ≥ 5× one curl stream', met: curlRatio >= 5, value: `${curlRatio.toFixed(1)}×` });
    const rss = (ours.peakRssBytes ?? 0) / MIB;
    checks.push({ target: 'capped: proxy peak RSS ≤ 200 MiB', met: rss <= 200, value: `${rss.toFixed(0)} MiB` });
  }
  for (const result of loopback) {
    const ratio = find(result, PROXY_DEFAULTS).mibPerS / find(result, PROXY_ONE_STREAM).mibPerS;
    checks.push({ target: `${result.registry}: defaults ≥ 0.95 × one stream`, met: ratio >= 0.95, value: ratio.toFixed(2) });
  }
  return checks;
}

export function formatNetwork(figures: NetworkFigures, checks: readonly NetworkCheck[]): string {
  const lines = [
    `A ${figures.bytes / MIB} MiB blob, read to the end and digest-checked (median of the runs; the proxy's CPU is user+sys of its process during the GET):`,
    '',
    '| registry | contender | MiB/s | proxy CPU s/GiB | proxy peak RSS MiB |',
    '|---|---|---:|---:|---:|',
  ];
  for (const result of figures.results) {
    for (const c of result.contenders) {
      const cpu = c.cpuSPerGiB === undefined ? '' : c.cpuSPerGiB.toFixed(2);
      const rss = c.peakRssBytes === undefined ? '' : (c.peakRssBytes / MIB).toFixed(0);
      lines.push(`| ${result.registry} | ${c.name} | ${c.mibPerS.toFixed(0)} | ${cpu} | ${rss} |`);
    }
  }
  lines.push('', ...checks.map((c) => `${c.met ? 'met    ' : 'NOT MET'}  ${c.target}: ${c.value}`), '');
  return `${lines.join('\n')}\n`;
}
