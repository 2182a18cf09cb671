import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { spawnLeanProxy } from './lean-client.js';
import { median, skopeoClient, type Paths } from './measure.js';

/**
 * Start-up, measured the same way for every contender: spawn → last byte of the first manifest,
 * the CPU time the process used until then (every thread, /proc/PID/task/TID/schedstat: far
 * steadier than wall time when other work shares the cores) and its RSS right after (VmHWM: the
 * footprint every blob's buffers come on top of). Contenders are interleaved run by run, so a
 * load spike hits them alike.
 */

export interface StartSample {
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssBytes: number;
}

export interface StartFigures {
  /** Medians over the runs. */
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssBytes: number;
  readonly runs: readonly StartSample[];
}

/** Something that can be started and asked for a manifest: a form of the proxy, or skopeo. */
export interface Contender {
  readonly name: string;
  start(): Promise<StartSample>;
}

/** Nanoseconds on a CPU, summed over every thread of the process, in ms. */
export function cpuMsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/** A form of the proxy (the npm bin, the executable), run as a parent runs it. */
export function proxyContender(name: string, cli: string, args: readonly string[]): Contender {
  return {
    name,
    async start() {
      const proxy = spawnLeanProxy(cli, args);
      try {
        const answer = await proxy.http.request('GET', '/manifest', true);
        const ms = performance.now() - proxy.spawnedAt;
        if (answer.status !== 200) throw new Error(`${cli}: GET /manifest answered ${answer.status}\n${proxy.stderr()}`);
        const sample = { ms, cpuMs: cpuMsOf(proxy.child.pid ?? 0), rssBytes: proxy.peakRss() };
        await proxy.quit();
        return sample;
      } finally {
        proxy.kill();
      }
    },
  };
}

/** skopeo experimental-image-proxy: Initialize → OpenImage → GetManifest, as skopeo-proxy.py times it. */
export function skopeoContender(paths: Paths, reference: string): Contender {
  return {
    name: 'skopeo',
    async start() {
      const report = await skopeoClient(paths, ['manifest', reference]);
      if (report.spawn_to_manifest_ms === undefined || report.cpu_ms_to_manifest === undefined || report.rss_after_manifest_bytes === undefined) {
        throw new Error('skopeo-proxy.py reported no start-up figures');
      }
      return { ms: report.spawn_to_manifest_ms, cpuMs: report.cpu_ms_to_manifest, rssBytes: report.rss_after_manifest_bytes };
    },
  };
}

export interface StartupRound {
  readonly figures: ReadonlyMap<string, StartFigures>;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** One unmeasured start each (page cache, compile cache), then `runs` interleaved rounds. */
export async function measureStartup(contenders: readonly Contender[], runs: number): Promise<StartupRound> {
  for (const contender of contenders) await contender.start();
  const loadBefore = loadavg()[0]!;
  const samples = new Map<string, StartSample[]>(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) for (const contender of contenders) samples.get(contender.name)!.push(await contender.start());
  const figures = new Map<string, StartFigures>();
  for (const [name, taken] of samples) {
    figures.set(name, {
      ms: median(taken.map((s) => s.ms)),
      cpuMs: median(taken.map((s) => s.cpuMs)),
      rssBytes: median(taken.map((s) => s.rssBytes)),
      runs: taken,
    });
  }
  return { figures, loadBefore, loadAfter: loadavg()[0]! };
}
