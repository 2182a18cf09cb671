/**
 * `node dist/bench/startup.js [--runs N] [--cli PATH]... [--skopeo | --image REF]`
 *
 * The start-up half of the benchmark alone, for iterating on start-up work: one anonymous
 * docker-registry with a 1 MiB image, then for each bin (package.json's and the single
 * executable by default, or every `--cli`) a warm-up start and N fresh processes timed from
 * spawn to the end of GET /manifest, with the CPU time used until then and the RSS right after
 * (bench/startup-measure.ts). `--skopeo` adds skopeo's figures. `--image oci:DIR` (any proxy
 * image name) times that image instead, without a registry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureRegistryTools } from '../test/support/registry/install.js';
import { startRegistry } from '../test/support/registry/registry-server.js';
import { pushRandomImage } from './image.js';
import { type Contender, measureStartup, proxyContender, skopeoContender } from './startup-measure.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIB = 1024 * 1024;

function defaultClis(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const exe = join(REPO_ROOT, 'dist/exe/container-image-proxy');
  return [resolve(REPO_ROOT, pkg.bin['container-image-proxy'] ?? ''), ...(existsSync(exe) ? [exe] : [])];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      cli: { type: 'string', multiple: true },
      skopeo: { type: 'boolean', default: false },
      image: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not ${JSON.stringify(values.runs)}`);
  const clis = (values.cli ?? defaultClis()).map((cli) => resolve(cli));
  const contendersFor = (args: readonly string[]): Contender[] => clis.map((cli) => proxyContender(cli, cli, args));
  if (values.image !== undefined) {
    // A docker:// image given here is on a loopback registry like the bench's own.
    const tls = values.image.startsWith('docker://') ? ['--tls-verify=false'] : [];
    process.stdout.write(await timeAll(contendersFor([...tls, '--insecure-policy', values.image]), runs));
    return;
  }
  const status = ensureRegistryTools();
  if (!status.ready) throw new Error(status.reason);
  const registry = await startRegistry({ kind: 'anonymous' });
  try {
    const image = await pushRandomImage(registry, 'bench/startup', 'latest', [MIB]);
    const contenders = contendersFor(['--tls-verify=false', '--insecure-policy', image.reference]);
    if (values.skopeo) contenders.push(skopeoContender({ cli: clis[0]!, skopeoClient: join(REPO_ROOT, 'bench', 'skopeo-proxy.py') }, image.reference));
    process.stdout.write(await timeAll(contenders, runs));
  } finally {
    await registry.stop();
  }
}

/** A line per contender and the load average. */
async function timeAll(contenders: readonly Contender[], runs: number): Promise<string> {
  const { figures, loadBefore, loadAfter } = await measureStartup(contenders, runs);
  const lines = [...figures].map(
    ([name, f]) =>
      `${name}: spawn → manifest ${f.ms.toFixed(1)} ms, CPU ${f.cpuMs.toFixed(1)} ms, RSS after manifest ${(f.rssBytes / MIB).toFixed(1)} MiB (medians of ${runs})`,
  );
  lines.push(`load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`);
  return `${lines.join('\n')}\n`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/startup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
