/** The benchmark's results, its targets, and the table printed for people. */
import { type ReaderComparison } from './reader-comparison.js';
import { type StartFigures } from './startup-measure.js';

const MIB = 1024 * 1024;

/** (a) for one form of the proxy: the npm bin or the single executable. */
export interface FormBlobResult {
  readonly form: string;
  readonly mibPerS: number;
  readonly peakRssBytes: number;
  readonly runs: readonly number[];
}

export interface SizeResult {
  readonly label: string;
  readonly bytes: number;
  readonly proxies: readonly FormBlobResult[];
  readonly curlMibPerS: number;
  readonly skopeoMibPerS: number;
  readonly skopeoPeakRssBytes: number;
  readonly runs: { readonly curl: readonly number[]; readonly skopeo: readonly number[] };
}

/** A plain Python reader (http.client, hashlib) directly and through the proxy (bench/python-reader.py compare). */
export interface ReaderResult {
  readonly label: string;
  readonly bytes: number;
  readonly python: ReaderComparison;
  /** (i) The same reader through Node.js alone doing the proxy's work on the blob path (bench/hop-floor.cjs). */
  readonly nodeFloor: ReaderComparison;
  /** `curl | openssl dgst`: user+sys of both per GiB, median. */
  readonly curlCpuSPerGiB: number;
  /** (h) `curl --unix-socket | openssl dgst` through a proxy started with `--listen unix:`. */
  readonly unixCurlMibPerS: number;
}

export interface Results {
  readonly when: string;
  /** Load average (1 min) when the run started and ended: other work on the cores moves wall-clock figures. */
  readonly machine: { readonly cpus: number; readonly node: string; readonly loadBefore: number; readonly loadAfter: number };
  readonly sizes: readonly SizeResult[];
  readonly readers: readonly ReaderResult[];
  /** Medians of spawn → manifest, CPU time until then and RSS right after, per form and for skopeo. */
  readonly startup: { readonly forms: readonly (StartFigures & { readonly form: string })[]; readonly nodeFloor: StartFigures; readonly skopeo: StartFigures };
  readonly tokens: { readonly blobFetches: number; readonly tokenRequests: number; readonly perScope: Readonly<Record<string, number>> };
  /** Uncompressed MiB/s of one gzip layer: (d) through the proxy, (e) curl | gzip -dc | sha256sum. */
  readonly decompressed: { readonly proxyMibPerS: number; readonly pipelineMibPerS: number };
  /** Aggregate MiB/s of the same layers over one connection and over several. */
  readonly parallel: { readonly connections: number; readonly oneMibPerS: number; readonly manyMibPerS: number };
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Peak RSS counts as "the same" across sizes within this margin (allocator noise). */
export const RSS_SAME_MARGIN_BYTES = 16 * MIB;

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;
const fixed = (value: number, digits = 2): string => value.toFixed(digits);

/** The targets: peak RSS streaming a blob, and start-up against skopeo's. */
export const PEAK_RSS_TARGET_BYTES = 80 * MIB;
export const STARTUP_RATIO_TARGET = 3;

export function checkTargets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const size of results.sizes) {
    for (const proxy of size.proxies) {
      const ab = proxy.mibPerS / size.curlMibPerS;
      const ac = proxy.mibPerS / size.skopeoMibPerS;
      checks.push({ name: `${size.label}, ${proxy.form}: proxy / curl|openssl (a/b)`, target: '>= 1.0', measured: fixed(ab), met: ab >= 1.0 });
      checks.push({ name: `${size.label}, ${proxy.form}: proxy / skopeo GetBlob (a/c)`, target: '>= 3', measured: fixed(ac), met: ac >= 3 });
      const rssTarget = `<= ${mib(PEAK_RSS_TARGET_BYTES)}`;
      checks.push({
        name: `${size.label}, ${proxy.form}: peak RSS`,
        target: rssTarget,
        measured: mib(proxy.peakRssBytes),
        met: proxy.peakRssBytes <= PEAK_RSS_TARGET_BYTES,
      });
    }
  }
  const formNames = results.sizes[0]?.proxies.map((p) => p.form) ?? [];
  if (results.sizes.length > 1) {
    for (const form of formNames) {
      const peaks = results.sizes.map((s) => s.proxies.find((p) => p.form === form)!.peakRssBytes);
      const spread = Math.max(...peaks) - Math.min(...peaks);
      checks.push({
        name: `${form}: peak RSS the same for every size`,
        target: `spread <= ${mib(RSS_SAME_MARGIN_BYTES)}`,
        measured: mib(spread),
        met: spread <= RSS_SAME_MARGIN_BYTES,
      });
    }
  }
  for (const reader of results.readers) {
    const ratio = reader.python.proxyMibPerS / reader.python.directMibPerS;
    checks.push({ name: `${reader.label}: Python reader through the proxy / direct`, target: '>= 0.6', measured: fixed(ratio), met: ratio >= 0.6 });
    const cpu = reader.python.proxyCpuSPerGiB;
    checks.push({ name: `${reader.label}: proxy CPU per verified GiB`, target: '<= 1.7 s', measured: `${fixed(cpu)} s`, met: cpu <= 1.7 });
  }
  const scopes = Object.entries(results.tokens.perScope);
  const perScopeMax = Math.max(0, ...scopes.map(([, count]) => count));
  checks.push({
    name: `token requests for ${results.tokens.blobFetches} blob fetches`,
    target: '1 per scope',
    measured: `${results.tokens.tokenRequests} for ${scopes.length} scope(s)`,
    met: scopes.length > 0 && perScopeMax === 1,
  });
  for (const form of results.startup.forms) {
    const ratio = form.ms / results.startup.skopeo.ms;
    checks.push({
      name: `spawn → manifest, ${form.form} / skopeo`,
      target: `<= ${fixed(STARTUP_RATIO_TARGET, 1)}`,
      measured: fixed(ratio),
      met: ratio <= STARTUP_RATIO_TARGET,
    });
  }
  return checks;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function formatResults(results: Results, checks: readonly TargetCheck[]): string {
  const throughput = table([
    ['blob', 'form', '(a) proxy MiB/s', '(b) curl|openssl MiB/s', '(c) skopeo MiB/s', 'a/b', 'a/c', 'peak RSS', 'skopeo peak RSS', 'RSS / skopeo'],
    ...results.sizes.flatMap((s) =>
      s.proxies.map((p) => [
        s.label,
        p.form,
        fixed(p.mibPerS, 0),
        fixed(s.curlMibPerS, 0),
        fixed(s.skopeoMibPerS, 0),
        fixed(p.mibPerS / s.curlMibPerS),
        fixed(p.mibPerS / s.skopeoMibPerS),
        mib(p.peakRssBytes),
        mib(s.skopeoPeakRssBytes),
        fixed(p.peakRssBytes / s.skopeoPeakRssBytes, 1),
      ]),
    ),
  ]);
  const skopeoStart = results.startup.skopeo;
  const startRow = (name: string, f: StartFigures): string[] => [
    name,
    fixed(f.ms, 1),
    fixed(f.ms / skopeoStart.ms),
    fixed(f.cpuMs, 1),
    fixed(f.cpuMs / skopeoStart.cpuMs),
    mib(f.rssBytes),
    fixed(f.rssBytes / skopeoStart.rssBytes, 1),
  ];
  const readers = table([
    [
      'blob',
      '(f) Python direct MiB/s',
      '(g) via proxy MiB/s',
      'g/f',
      'proxy CPU s/GiB per GET',
      'whole life',
      '(i) via Node.js alone MiB/s',
      'i/f',
      'its CPU s/GiB per GET',
      'curl|openssl CPU s/GiB',
      '(h) curl via --listen unix: MiB/s',
    ],
    ...results.readers.map((r) => [
      r.label,
      fixed(r.python.directMibPerS, 0),
      fixed(r.python.proxyMibPerS, 0),
      fixed(r.python.proxyMibPerS / r.python.directMibPerS),
      fixed(r.python.proxyCpuSPerGiB),
      fixed(r.python.proxyLifeCpuSPerGiB),
      fixed(r.nodeFloor.proxyMibPerS, 0),
      fixed(r.nodeFloor.proxyMibPerS / r.nodeFloor.directMibPerS),
      fixed(r.nodeFloor.proxyCpuSPerGiB),
      fixed(r.curlCpuSPerGiB),
      fixed(r.unixCurlMibPerS, 0),
    ]),
  ]);
  const startup = table([
    [`spawn → manifest, docker:// (medians of ${skopeoStart.runs.length})`, 'ms', '/ skopeo', 'CPU ms', '/ skopeo', 'RSS after manifest', '/ skopeo'],
    ...results.startup.forms.map((f) => startRow(`container-image-proxy, ${f.form}`, f)),
    startRow('Node.js alone, the same requests (bench/node-floor.cjs)', results.startup.nodeFloor),
    startRow('skopeo experimental-image-proxy', skopeoStart),
  ]);
  const layers = table([
    ['layers (uncompressed or aggregate MiB/s)', 'proxy', 'compared with', 'ratio'],
    [
      'decompressed gzip layer: (d) ?decompress=true vs (e) curl | gzip -dc | sha256sum',
      fixed(results.decompressed.proxyMibPerS, 0),
      fixed(results.decompressed.pipelineMibPerS, 0),
      fixed(results.decompressed.proxyMibPerS / results.decompressed.pipelineMibPerS),
    ],
    [
      `${results.parallel.connections} connections vs 1, the same ${results.parallel.connections} layers`,
      fixed(results.parallel.manyMibPerS, 0),
      fixed(results.parallel.oneMibPerS, 0),
      fixed(results.parallel.manyMibPerS / results.parallel.oneMibPerS),
    ],
  ]);
  const targets = table([['target', 'wanted', 'measured', 'met'], ...checks.map((c) => [c.name, c.target, c.measured, c.met ? 'yes' : 'NO'])]);
  const scopes = Object.entries(results.tokens.perScope)
    .map(([scope, count]) => `  ${scope || '(no scope)'}: ${count}`)
    .join('\n');
  return [
    `container-image-proxy benchmark, ${results.when} (${results.machine.cpus} CPUs, Node ${results.machine.node}, ` +
      `load average ${fixed(results.machine.loadBefore)} → ${fixed(results.machine.loadAfter)})`,
    '',
    throughput,
    '',
    readers,
    '',
    startup,
    '',
    layers,
    '',
    `token requests for ${results.tokens.blobFetches} blob fetches on a token-auth registry: ${results.tokens.tokenRequests}`,
    scopes,
    '',
    targets,
    '',
  ].join('\n');
}
