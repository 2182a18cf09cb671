import { performance } from 'node:perf_hooks';
import { run } from '../test/support/registry/processes.js';
import { spawnLeanProxy, type SpawnedProxy } from './lean-client.js';

/** Each measurement the benchmark makes, one function per tool. Sizes in bytes, rates in MiB/s. */

const MIB = 1024 * 1024;
const PROXY_ANSWER_MS = 60_000;

export interface Paths {
  /** The form of the proxy measured: the file package.json's `bin` names, or the single executable. */
  readonly cli: string;
  /** bench/skopeo-proxy.py. */
  readonly skopeoClient: string;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const rate = (bytes: number, ms: number): number => bytes / MIB / (ms / 1000);

async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectOk(proxy: SpawnedProxy, method: string, path: string, keepBody = false): Promise<{ bytes: number; body?: Buffer }> {
  try {
    const answer = await within(`${method} ${path}`, PROXY_ANSWER_MS, proxy.http.request(method, path, keepBody));
    if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${answer.body?.toString('utf8') ?? ''}`);
    return answer;
  } catch (err) {
    throw new Error(`proxy ${method} ${path}: ${(err as Error).message}\n${proxy.stderr()}`, { cause: err });
  }
}

export interface ProxyBlobResult {
  readonly mibPerS: number;
  readonly runsMibPerS: readonly number[];
  /** VmHWM read just before POST /quit. */
  readonly peakRssBytes: number;
}

/** (a) GET /blobs/<digest> through one proxy process, `runs` times, every byte counted. */
export async function proxyBlob(paths: Paths, proxyArgs: readonly string[], digest: string, size: number, runs: number): Promise<ProxyBlobResult> {
  const proxy = spawnLeanProxy(paths.cli, proxyArgs);
  try {
    await expectOk(proxy, 'GET', '/manifest');
    const runsMibPerS: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const { bytes } = await expectOk(proxy, 'GET', `/blobs/${digest}`);
      const ms = performance.now() - started;
      if (bytes !== size) throw new Error(`proxy served ${bytes} bytes of ${digest}, expected ${size}`);
      runsMibPerS.push(rate(bytes, ms));
    }
    const peakRssBytes = proxy.peakRss();
    await proxy.quit();
    return { mibPerS: median(runsMibPerS), runsMibPerS, peakRssBytes };
  } finally {
    proxy.kill();
  }
}

export interface ToolBlobResult {
  readonly mibPerS: number;
  readonly runsMibPerS: readonly number[];
}

export interface SkopeoBlobResult extends ToolBlobResult {
  /** skopeo's VmHWM after its last GetBlob, the largest over the runs. */
  readonly peakRssBytes: number;
}

export interface CurlBlobResult extends ToolBlobResult {
  /** Median user+sys of curl and openssl together per GiB, from the shell's `times`. */
  readonly cpuSPerGiB: number;
}

/** `times` prints the shell's own and then its children's user and sys time, e.g. `0m0.110000s 0m0.020000s`. */
function childrenCpuSeconds(timesOutput: string): number {
  const children = timesOutput.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`cannot read the shell's times output: ${JSON.stringify(timesOutput)}`);
  return seconds[0]! + seconds[1]!;
}

/** (b) `curl -s URL | openssl dgst -sha256`, the digest checked against the expected one. */
export async function curlBlob(url: string, digest: string, size: number, runs: number): Promise<CurlBlobResult> {
  const runsMibPerS: number[] = [];
  const cpuS: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { stdout, stderr } = await run('sh', ['-c', 'curl -sf "$1" | openssl dgst -sha256 -r; times >&2', 'sh', url], { timeoutMs: 600_000 });
    const ms = performance.now() - started;
    cpuS.push(childrenCpuSeconds(stderr));
    if (`sha256:${stdout.split(' ')[0]}` !== digest) throw new Error(`curl | openssl: ${url} hashed to ${stdout.trim()}, expected ${digest}`);
    runsMibPerS.push(rate(size, ms));
  }
  return { mibPerS: median(runsMibPerS), runsMibPerS, cpuSPerGiB: median(cpuS) / (size / 1024 ** 3) };
}

export interface SkopeoReport {
  readonly bytes?: number;
  readonly mib_per_s?: number;
  readonly spawn_to_manifest_ms?: number;
  readonly cpu_ms_to_manifest?: number;
  readonly rss_after_manifest_bytes?: number;
  readonly peak_rss_bytes?: number;
}

export async function skopeoClient(paths: Paths, args: readonly string[]): Promise<SkopeoReport> {
  const { stdout } = await run('python3', [paths.skopeoClient, '--tls-verify=false', ...args], { timeoutMs: 600_000 });
  return JSON.parse(stdout) as SkopeoReport;
}

/** (c) skopeo experimental-image-proxy GetBlob, read to the end by bench/skopeo-proxy.py. */
export async function skopeoBlob(paths: Paths, reference: string, digest: string, size: number, runs: number): Promise<SkopeoBlobResult> {
  const runsMibPerS: number[] = [];
  let peakRssBytes = 0;
  for (let i = 0; i < runs; i++) {
    const report = await skopeoClient(paths, ['blob', reference, digest]);
    if (report.bytes !== size || report.mib_per_s === undefined) throw new Error(`skopeo GetBlob read ${report.bytes} bytes of ${digest}, expected ${size}`);
    runsMibPerS.push(report.mib_per_s);
    peakRssBytes = Math.max(peakRssBytes, report.peak_rss_bytes ?? 0);
  }
  return { mibPerS: median(runsMibPerS), runsMibPerS, peakRssBytes };
}

/** Manifest, config and every layer through one proxy; the caller reads the issuer's counts. */
export async function fetchEveryBlob(paths: Paths, proxyArgs: readonly string[], layers: readonly { digest: string }[]): Promise<number> {
  const proxy = spawnLeanProxy(paths.cli, proxyArgs);
  try {
    const { body } = await expectOk(proxy, 'GET', '/manifest', true);
    const manifest = JSON.parse(body!.toString('utf8')) as { config: { digest: string } };
    await expectOk(proxy, 'GET', '/config');
    for (const layer of layers) await expectOk(proxy, 'GET', `/blobs/${layer.digest}`);
    await expectOk(proxy, 'GET', `/blobs/${manifest.config.digest}`);
    await proxy.quit();
    return layers.length + 1;
  } finally {
    proxy.kill();
  }
}
