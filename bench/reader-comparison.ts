import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeTempDir, removeTempDir, run } from '../test/support/registry/processes.js';
import { median } from './measure.js';

/**
 * What the proxy hop costs a plain Python client: `bench/python-reader.py compare` reads the same
 * blob with the same standard-library reader (http.client, 1 MiB reads, hashlib.sha256) straight
 * from the registry and through one proxy process, alternating run by run so both see the same
 * load.
 */

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export interface ReaderComparison {
  readonly directMibPerS: number;
  readonly proxyMibPerS: number;
  /** Median over the reads of the proxy's user+sys CPU (all threads) per verified GiB. */
  readonly proxyCpuSPerGiB: number;
  /** The proxy's user+sys over its whole life (start-up and GET /manifest included) per GiB served. */
  readonly proxyLifeCpuSPerGiB: number;
  readonly proxyPeakRssBytes: number;
  readonly runs: { readonly direct: readonly number[]; readonly proxy: readonly number[]; readonly proxyCpuS: readonly number[] };
}

interface ReaderReport {
  readonly directMibPerS: number[];
  readonly proxyMibPerS: number[];
  readonly proxyRunCpuS: number[];
  readonly proxyCpuS: number;
  readonly proxyPeakRssKiB: number;
}

/** The bin's shebang finds `node` on PATH: this Node first, as spawnLeanProxy does. */
function thisNodeFirst(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
}

/** `cli` is the proxy's bin, `reader` bench/python-reader.py. */
export async function pythonReaderComparison(
  cli: string,
  reader: string,
  url: string,
  proxyArgs: readonly string[],
  digest: string,
  size: number,
  runs: number,
): Promise<ReaderComparison> {
  const args = [reader, 'compare', url, cli, digest, String(size), '--runs', String(runs), '--', ...proxyArgs];
  const { stdout } = await run('python3', args, { env: thisNodeFirst(), timeoutMs: 1_200_000 });
  const report = JSON.parse(stdout) as ReaderReport;
  const gib = size / GIB;
  return {
    directMibPerS: median(report.directMibPerS),
    proxyMibPerS: median(report.proxyMibPerS),
    proxyCpuSPerGiB: median(report.proxyRunCpuS) / gib,
    proxyLifeCpuSPerGiB: report.proxyCpuS / (gib * runs),
    proxyPeakRssBytes: report.proxyPeakRssKiB * 1024,
    runs: { direct: report.directMibPerS, proxy: report.proxyMibPerS, proxyCpuS: report.proxyRunCpuS },
  };
}

/**
 * `curl --unix-socket … | openssl dgst -sha256` through one proxy started with `--listen unix:`,
 * the digest checked: a C reader through the proxy, beside (b)'s straight from the registry.
 */
export async function unixCurlBlob(cli: string, proxyArgs: readonly string[], digest: string, size: number, runs: number): Promise<number> {
  const dir = makeTempDir('bench-listen');
  const path = join(dir, 'proxy.sock');
  const proxy = spawn(cli, ['--listen', `unix:${path}`, ...proxyArgs], { env: thisNodeFirst(), stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let said = '';
      // The proxy says where it listens on stderr.
      proxy.stderr.setEncoding('utf8').on('data', (text: string) => {
        said += text;
        if (said.includes('listening on')) resolve();
      });
      proxy.once('exit', (code) => reject(new Error(`the proxy exited (${code}) before listening on ${path}`)));
    });
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const { stdout } = await run('sh', ['-c', 'curl -sf --unix-socket "$1" "http://localhost/blobs/$2" | openssl dgst -sha256 -r', 'sh', path, digest], {
        timeoutMs: 600_000,
      });
      const seconds = (performance.now() - started) / 1000;
      if (`sha256:${stdout.split(' ')[0]}` !== digest) throw new Error(`curl --unix-socket: ${digest} hashed to ${stdout.trim()}`);
      rates.push(size / MIB / seconds);
    }
    return median(rates);
  } finally {
    const exited = new Promise((resolve) => proxy.once('close', resolve));
    if (proxy.exitCode === null && proxy.signalCode === null) proxy.kill();
    await exited;
    removeTempDir(dir);
  }
}
