/** The benchmark's results, its targets, and the table printed for people. */

const MIB = 1024 * 1024;

export interface SizeResult {
  readonly label: string;
  readonly bytes: number;
  readonly proxyMibPerS: number;
  readonly curlMibPerS: number;
  readonly skopeoMibPerS: number;
  readonly proxyPeakRssBytes: number;
  readonly runs: { readonly proxy: readonly number[]; readonly curl: readonly number[]; readonly skopeo: readonly number[] };
}

export interface Results {
  readonly when: string;
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly sizes: readonly SizeResult[];
  readonly startup: { readonly proxyMs: number; readonly skopeoMs: number; readonly runs: { readonly proxy: readonly number[]; readonly skopeo: readonly number[] } };
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

export function checkTargets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const size of results.sizes) {
    const ab = size.proxyMibPerS / size.curlMibPerS;
    const ac = size.proxyMibPerS / size.skopeoMibPerS;
    checks.push({ name: `${size.label}: proxy / curl|openssl (a/b)`, target: '>= 1.0', measured: fixed(ab), met: ab >= 1.0 });
    checks.push({ name: `${size.label}: proxy / skopeo GetBlob (a/c)`, target: '>= 3', measured: fixed(ac), met: ac >= 3 });
    checks.push({ name: `${size.label}: proxy peak RSS`, target: '<= 100 MiB', measured: mib(size.proxyPeakRssBytes), met: size.proxyPeakRssBytes <= 100 * MIB });
  }
  if (results.sizes.length > 1) {
    const peaks = results.sizes.map((s) => s.proxyPeakRssBytes);
    const spread = Math.max(...peaks) - Math.min(...peaks);
    checks.push({ name: 'peak RSS the same for every size', target: `spread <= ${mib(RSS_SAME_MARGIN_BYTES)}`, measured: mib(spread), met: spread <= RSS_SAME_MARGIN_BYTES });
  }
  const scopes = Object.entries(results.tokens.perScope);
  const perScopeMax = Math.max(0, ...scopes.map(([, count]) => count));
  checks.push({
    name: `token requests for ${results.tokens.blobFetches} blob fetches`,
    target: '1 per scope',
    measured: `${results.tokens.tokenRequests} for ${scopes.length} scope(s)`,
    met: scopes.length > 0 && perScopeMax === 1,
  });
  const startupRatio = results.startup.proxyMs / results.startup.skopeoMs;
  checks.push({ name: 'spawn → manifest, proxy / skopeo', target: '<= 2.0', measured: fixed(startupRatio), met: startupRatio <= 2 });
  return checks;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function formatResults(results: Results, checks: readonly TargetCheck[]): string {
  const throughput = table([
    ['blob', '(a) proxy MiB/s', '(b) curl|openssl MiB/s', '(c) skopeo MiB/s', 'a/b', 'a/c', 'proxy peak RSS'],
    ...results.sizes.map((s) => [
      s.label,
      fixed(s.proxyMibPerS, 0),
      fixed(s.curlMibPerS, 0),
      fixed(s.skopeoMibPerS, 0),
      fixed(s.proxyMibPerS / s.curlMibPerS),
      fixed(s.proxyMibPerS / s.skopeoMibPerS),
      mib(s.proxyPeakRssBytes),
    ]),
  ]);
  const startup = table([
    ['spawn → manifest (median)', 'ms'],
    ['container-image-proxy', fixed(results.startup.proxyMs, 1)],
    ['skopeo experimental-image-proxy', fixed(results.startup.skopeoMs, 1)],
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
    `container-image-proxy benchmark, ${results.when} (${results.machine.cpus} CPUs, Node ${results.machine.node})`,
    '',
    throughput,
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
