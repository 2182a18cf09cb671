/**
 * `node dist/bench/startup.js [--runs N] [--cli PATH]... [--skopeo | --image REF]`
 *
 * The start-up half of the benchmark alone, for iterating on start-up work: one anonymous
 * docker-registry with a 1 MiB image, then for each bin (package.json's by default, or every
 * `--cli`) a warm-up start and N fresh processes timed from spawn to the end of GET /manifest.
 * Also prints the proxy's peak RSS right after that first manifest (the idle footprint that
 * every blob's buffers come on top of). Bins are interleaved run by run, so a load spike from
 * the other users of the machine hits them alike. `--image oci:DIR` (any proxy image name) times
 * that image instead, without a registry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureRegistryTools } from '../test/support/registry/install.js';
import { startRegistry } from '../test/support/registry/registry-server.js';
import { pushRandomImage } from './image.js';
import { median, type Paths, skopeoSpawnToManifest } from './measure.js';
import { spawnLeanProxy } from './lean-client.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIB = 1024 * 1024;

interface Sample {
  readonly ms: number;
  readonly peakRssBytes: number;
  /** User + system CPU time of the proxy until the manifest: less sensitive to a loaded machine than wall time. */
  readonly cpuMs: number;
}

/** Nanoseconds on a CPU, summed over every thread of the process (/proc/PID/task/TID/schedstat). */
function cpuMsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

async function startOnce(cli: string, args: readonly string[]): Promise<Sample> {
  const proxy = spawnLeanProxy(cli, args);
  try {
    const answer = await proxy.http.request('GET', '/manifest', true);
    const ms = performance.now() - proxy.spawnedAt;
    if (answer.status !== 200) throw new Error(`${cli}: GET /manifest answered ${answer.status}\n${proxy.stderr()}`);
    const peakRssBytes = proxy.peakRss();
    const cpuMs = cpuMsOf(proxy.child.pid ?? 0);
    await proxy.quit();
    return { ms, peakRssBytes, cpuMs };
  } finally {
    proxy.kill();
  }
}

function defaultCli(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return resolve(REPO_ROOT, pkg.bin['container-image-proxy'] ?? '');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, cli: { type: 'string', multiple: true }, skopeo: { type: 'boolean', default: false }, image: { type: 'string' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not ${JSON.stringify(values.runs)}`);
  const clis = (values.cli ?? [defaultCli()]).map((cli) => resolve(cli));
  if (values.image !== undefined) {
    // A docker:// image given here is on a loopback registry like the bench's own.
    const tls = values.image.startsWith('docker://') ? ['--tls-verify=false'] : [];
    process.stdout.write(`${(await timeAll(clis, [...tls, '--insecure-policy', values.image], runs)).join('\n')}\n`);
    return;
  }
  const status = ensureRegistryTools();
  if (!status.ready) throw new Error(status.reason);
  const registry = await startRegistry({ kind: 'anonymous' });
  try {
    const image = await pushRandomImage(registry, 'bench/startup', 'latest', [MIB]);
    const lines = await timeAll(clis, ['--tls-verify=false', '--insecure-policy', image.reference], runs);
    if (values.skopeo) {
      const paths: Paths = { cli: clis[0]!, skopeoClient: join(REPO_ROOT, 'bench', 'skopeo-proxy.py') };
      await skopeoSpawnToManifest(paths, image.reference, 1);
      lines.push(`skopeo: spawn → manifest ${(await skopeoSpawnToManifest(paths, image.reference, runs)).medianMs.toFixed(1)} ms`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await registry.stop();
  }
}

/** One warm-up start per bin, then `runs` rounds of one start each; a line per bin and the load. */
async function timeAll(clis: readonly string[], args: readonly string[], runs: number): Promise<string[]> {
  const samples = new Map<string, Sample[]>(clis.map((cli) => [cli, []]));
  for (const cli of clis) await startOnce(cli, args);
  const loadBefore = loadavg()[0]!;
  for (let i = 0; i < runs; i++) for (const cli of clis) samples.get(cli)!.push(await startOnce(cli, args));
  const lines = [...samples].map(([cli, taken]) => {
    const ms = median(taken.map((s) => s.ms)).toFixed(1);
    const rss = (median(taken.map((s) => s.peakRssBytes)) / MIB).toFixed(1);
    const cpu = median(taken.map((s) => s.cpuMs)).toFixed(1);
    return `${cli}: spawn → manifest ${ms} ms, CPU ${cpu} ms, RSS after manifest ${rss} MiB (medians of ${runs})`;
  });
  lines.push(`load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
  return lines;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/startup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
