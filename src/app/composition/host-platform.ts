import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { goPlatform, type Platform, variantFromCpuinfo } from '../../domain/platform.js';

/**
 * The platform this process runs on, in Go's vocabulary. Images are Linux images whatever the
 * host, so a non-Linux host still asks for linux (as containers/image on macOS would not).
 */
export function detectHostPlatform(): Platform {
  const { architecture } = goPlatform(process.platform, process.arch, endianness());
  return { os: 'linux', architecture, variant: cpuVariant(architecture) };
}

function cpuVariant(architecture: string): string | undefined {
  if (architecture !== 'arm' && architecture !== 'arm64') return undefined;
  try {
    return variantFromCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'), architecture);
  } catch {
    return undefined;
  }
}
