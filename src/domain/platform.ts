import { ProxyError } from './errors.js';
import { type Descriptor, type ManifestList } from './manifest.js';

/** An OS/architecture/variant triple in Go's vocabulary (GOOS/GOARCH), as image indexes use it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

const GOOS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'illumos' };
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', mipsel: 'mipsle' };

/**
 * Node's `process.platform`/`process.arch` in Go's GOOS/GOARCH vocabulary. Names Go shares with
 * Node pass through unchanged. Node reports illumos and Solaris alike as `sunos`; Node itself
 * only ships for illumos (SmartOS), so that is the answer. Images are almost all Linux images:
 * whether a macOS or Windows host should look for `linux` instead of its own OS (containers/image
 * would look for `darwin`) is the caller's decision, not this mapping's.
 */
export function goPlatform(nodePlatform: string, nodeArch: string, endianness: 'LE' | 'BE'): { os: string; architecture: string } {
  const architecture = nodeArch === 'ppc64' ? (endianness === 'LE' ? 'ppc64le' : 'ppc64') : (GOARCH[nodeArch] ?? nodeArch);
  return { os: GOOS[nodePlatform] ?? nodePlatform, architecture };
}

/** containers/image's reading of `/proc/cpuinfo`'s "CPU architecture" for arm and arm64. */
// prettier-ignore
const CPU_ARCHITECTURE_VARIANTS: Readonly<Record<string, string>> = {
  '8': 'v8', aarch64: 'v8',
  '7m': 'v7', '?(12)': 'v7', '?(13)': 'v7', '?(14)': 'v7', '?(15)': 'v7', '?(16)': 'v7', '?(17)': 'v7',
  '6': 'v6', '6tej': 'v6',
  '5': 'v5', '5t': 'v5', '5te': 'v5', '5tej': 'v5',
  '4': 'v4', '4t': 'v4',
  '3': 'v3',
};

/**
 * The CPU variant a Linux host reports for arm and arm64 (platform_matcher.go's getCPUVariant);
 * undefined for other architectures or when cpuinfo does not tell.
 */
export function variantFromCpuinfo(cpuinfo: string, architecture: string): string | undefined {
  if (architecture !== 'arm' && architecture !== 'arm64') return undefined;
  const cpuArchitecture = cpuinfoField(cpuinfo, 'cpu architecture')?.toLowerCase();
  if (cpuArchitecture === undefined) return undefined;
  if (cpuArchitecture === '7') {
    // An ARMv6 core can report architecture 7; its model name gives it away.
    const model = cpuinfoField(cpuinfo, 'model name');
    if (model === undefined) return undefined;
    return model.toLowerCase().startsWith('armv6-compatible') ? 'v6' : 'v7';
  }
  return CPU_ARCHITECTURE_VARIANTS[cpuArchitecture];
}

/** The first line whose key (before the first `:`) matches case-insensitively; the text up to the next `:`. */
function cpuinfoField(cpuinfo: string, key: string): string | undefined {
  for (const line of cpuinfo.split('\n')) {
    const parts = line.split(':');
    if (parts.length > 1 && parts[0]!.trim().toLowerCase() === key) return parts[1]!.trim();
  }
  return undefined;
}

/** On macOS and Windows containers/image assumes the variant instead of reading cpuinfo. */
export function assumedVariant(goOs: string, architecture: string): string | undefined {
  if (goOs !== 'darwin' && goOs !== 'windows') return undefined;
  return architecture === 'arm64' ? 'v8' : architecture === 'arm' ? 'v7' : undefined;
}

/** Variants an architecture can run, best first (platform_matcher.go's compatibility table). */
const COMPATIBLE_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  arm: ['v8', 'v7', 'v6', 'v5'],
  arm64: ['v8'],
};

/**
 * The platforms to look for in a list, most wanted first (containers/image's WantedPlatforms).
 * `base` is the host (OS and architecture); `detectedVariant` is the host's CPU variant, used
 * only when the architecture is not overridden. A known variant lists itself and the variants
 * it can run, then the variant-less entry; an unknown one puts the variant-less entry first.
 */
export function wantedPlatforms(
  base: Platform,
  overrides: { readonly os?: string | undefined; readonly architecture?: string | undefined; readonly variant?: string | undefined },
  detectedVariant?: string,
): Platform[] {
  const architecture = overrides.architecture || base.architecture;
  const os = overrides.os || base.os;
  const variant = overrides.variant || (overrides.architecture ? '' : (detectedVariant ?? ''));
  const compatible = COMPATIBLE_VARIANTS[architecture];
  let variants: string[];
  if (variant !== '') {
    const at = compatible?.indexOf(variant) ?? -1;
    variants = [...(at === -1 ? [variant] : compatible!.slice(at)), ''];
  } else {
    variants = ['', ...(compatible ?? [])];
  }
  return variants.map((v) => (v === '' ? { os, architecture } : { os, architecture, variant: v }));
}

/** Marks an OCI index instance as zstd-compressed; containers/image prefers those. */
export const ZSTD_INSTANCE_ANNOTATION = 'io.github.containers.compression.zstd';

function matchIndex(descriptor: Descriptor, wanted: readonly Platform[]): number {
  const p = descriptor.platform;
  if (p === undefined) return -1;
  return wanted.findIndex((w) => p.architecture === w.architecture && p.os === w.os && (p.variant ?? '') === (w.variant ?? ''));
}

/**
 * The instance containers/image picks from a list. Docker lists: the first wanted platform any
 * entry matches, in list order. OCI indexes: the entry matching the most wanted platform, a
 * zstd-annotated one among equals, then list order; entries without a platform match anything
 * with the lowest priority. Only os, architecture and variant count.
 */
export function chooseInstance(manifest: ManifestList, wanted: readonly Platform[]): Descriptor {
  const chosen = manifest.kind === 'docker-list' ? chooseFromDockerList(manifest.manifests, wanted) : chooseFromOciIndex(manifest.manifests, wanted);
  if (chosen) return chosen;
  const first = wanted[0];
  const what = manifest.kind === 'docker-list' ? 'manifest list' : 'image index';
  throw new ProxyError(
    'no-matching-platform',
    `no image found in ${what} for architecture ${JSON.stringify(first?.architecture ?? '')}, variant ${JSON.stringify(first?.variant ?? '')}, OS ${JSON.stringify(first?.os ?? '')}`,
  );
}

function chooseFromDockerList(entries: readonly Descriptor[], wanted: readonly Platform[]): Descriptor | undefined {
  for (const w of wanted) {
    const match = entries.find((d) => matchIndex(d, [w]) === 0);
    if (match) return match;
  }
  return undefined;
}

function chooseFromOciIndex(entries: readonly Descriptor[], wanted: readonly Platform[]): Descriptor | undefined {
  let best: { descriptor: Descriptor; rank: number; zstd: boolean } | undefined;
  for (const descriptor of entries) {
    const rank = descriptor.platform === undefined ? Number.MAX_SAFE_INTEGER : matchIndex(descriptor, wanted);
    if (rank === -1) continue;
    const zstd = descriptor.annotations?.[ZSTD_INSTANCE_ANNOTATION] === 'true';
    if (!best || rank < best.rank || (rank === best.rank && zstd && !best.zstd)) best = { descriptor, rank, zstd };
  }
  return best?.descriptor;
}
