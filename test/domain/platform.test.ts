import { expect } from 'chai';
import { isProxyError } from '../../src/domain/errors.js';
import { type Descriptor, type ManifestList } from '../../src/domain/manifest.js';
import { MediaType as M } from '../../src/domain/media-types.js';
import {
  assumedVariant,
  chooseInstance,
  goPlatform,
  type Platform,
  variantFromCpuinfo,
  wantedPlatforms,
  ZSTD_INSTANCE_ANNOTATION,
} from '../../src/domain/platform.js';

describe('goPlatform', () => {
  const table: [string, string, 'LE' | 'BE', string, string][] = [
    ['linux', 'x64', 'LE', 'linux', 'amd64'],
    ['linux', 'ia32', 'LE', 'linux', '386'],
    ['linux', 'arm', 'LE', 'linux', 'arm'],
    ['linux', 'arm64', 'LE', 'linux', 'arm64'],
    ['linux', 'ppc64', 'LE', 'linux', 'ppc64le'],
    ['aix', 'ppc64', 'BE', 'aix', 'ppc64'],
    ['linux', 's390x', 'BE', 'linux', 's390x'],
    ['linux', 'riscv64', 'LE', 'linux', 'riscv64'],
    ['linux', 'loong64', 'LE', 'linux', 'loong64'],
    ['linux', 'mips', 'BE', 'linux', 'mips'],
    ['linux', 'mipsel', 'LE', 'linux', 'mipsle'],
    ['win32', 'x64', 'LE', 'windows', 'amd64'],
    ['darwin', 'arm64', 'LE', 'darwin', 'arm64'],
    ['freebsd', 'x64', 'LE', 'freebsd', 'amd64'],
    ['openbsd', 'x64', 'LE', 'openbsd', 'amd64'],
    ['sunos', 'x64', 'LE', 'illumos', 'amd64'],
  ];
  for (const [platform, arch, endianness, os, architecture] of table) {
    it(`${platform}/${arch} (${endianness}) → ${os}/${architecture}`, () => {
      expect(goPlatform(platform, arch, endianness)).to.deep.equal({ os, architecture });
    });
  }
});

describe('variantFromCpuinfo', () => {
  const rpi3 = 'processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nCPU architecture: 7\n';
  const table: [string, string, string, string | undefined][] = [
    ['arm64 reporting 8', 'processor\t: 0\nBogoMIPS\t: 50.00\nCPU architecture: 8\n', 'arm64', 'v8'],
    ['AArch64 spelled out', 'CPU architecture: AArch64\n', 'arm64', 'v8'],
    ['a case-insensitive key, first line wins', 'cpu ARCHITECTURE : 7\nCPU architecture: 8\nmodel name: ARMv7\n', 'arm', 'v7'],
    ['armv7', rpi3, 'arm', 'v7'],
    ['an ARMv6 core reporting 7', 'model name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\n', 'arm', 'v6'],
    ['7 without a model name', 'CPU architecture: 7\n', 'arm', undefined],
    ['7M', 'CPU architecture: 7M\n', 'arm', 'v7'],
    ['6TEJ', 'CPU architecture: 6TEJ\n', 'arm', 'v6'],
    ['5TE', 'CPU architecture: 5TE\n', 'arm', 'v5'],
    ['an unknown value', 'CPU architecture: 9\n', 'arm64', undefined],
    ['no such line', 'processor: 0\n', 'arm64', undefined],
    ['amd64 (never read)', 'CPU architecture: 8\n', 'amd64', undefined],
  ];
  for (const [why, cpuinfo, architecture, expected] of table) {
    it(`${why} → ${String(expected)}`, () => expect(variantFromCpuinfo(cpuinfo, architecture)).to.equal(expected));
  }
  it('assumes v8/v7 on macOS and Windows only', () => {
    expect([
      assumedVariant('darwin', 'arm64'),
      assumedVariant('windows', 'arm'),
      assumedVariant('linux', 'arm64'),
      assumedVariant('darwin', 'amd64'),
    ]).to.deep.equal(['v8', 'v7', undefined, undefined]);
  });
});

const p = (architecture: string, variant?: string, os = 'linux'): Platform => (variant ? { os, architecture, variant } : { os, architecture });

describe('wantedPlatforms', () => {
  const linux = (architecture: string): Platform => ({ os: 'linux', architecture });
  const table: [string, Platform, Parameters<typeof wantedPlatforms>[1], string | undefined, Platform[]][] = [
    ['arm64 detected v8', linux('arm64'), {}, 'v8', [p('arm64', 'v8'), p('arm64')]],
    ['arm detected v7', linux('arm'), {}, 'v7', [p('arm', 'v7'), p('arm', 'v6'), p('arm', 'v5'), p('arm')]],
    ['arm detected v8', linux('arm'), {}, 'v8', [p('arm', 'v8'), p('arm', 'v7'), p('arm', 'v6'), p('arm', 'v5'), p('arm')]],
    ['arm64 with no known variant', linux('arm64'), {}, undefined, [p('arm64'), p('arm64', 'v8')]],
    ['amd64', linux('amd64'), {}, undefined, [p('amd64')]],
    ['an overridden architecture ignores the detected variant', linux('arm'), { architecture: 'arm64' }, 'v7', [p('arm64'), p('arm64', 'v8')]],
    ['an overridden variant outside the table', linux('arm64'), { variant: 'v9' }, 'v8', [p('arm64', 'v9'), p('arm64')]],
    ['an overridden variant in the table', linux('arm64'), { architecture: 'arm', variant: 'v6' }, undefined, [p('arm', 'v6'), p('arm', 'v5'), p('arm')]],
    ['a variant on an architecture without a table', linux('amd64'), { variant: 'v3' }, undefined, [p('amd64', 'v3'), p('amd64')]],
    ['an overridden OS', linux('amd64'), { os: 'windows' }, undefined, [p('amd64', undefined, 'windows')]],
    ['empty overrides count as none', linux('arm64'), { os: '', architecture: '', variant: '' }, 'v8', [p('arm64', 'v8'), p('arm64')]],
  ];
  for (const [why, base, overrides, detected, expected] of table) {
    it(why, () => expect(wantedPlatforms(base, overrides, detected)).to.deep.equal(expected));
  }
});

describe('chooseInstance', () => {
  let n = 0;
  const entry = (platform: Descriptor['platform'], annotations?: Record<string, string>): Descriptor => ({
    mediaType: M.ociManifest,
    digest: `sha256:${(n++).toString(16).padStart(64, '0')}` as Descriptor['digest'],
    size: 1,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  });
  const index = (...manifests: Descriptor[]): ManifestList => ({ kind: 'oci-index', mediaType: M.ociIndex, manifests });
  const list = (...manifests: Descriptor[]): ManifestList => ({ kind: 'docker-list', mediaType: M.dockerList, manifests });
  const arm64v8 = wantedPlatforms(p('arm64'), {}, 'v8');
  const arm64 = wantedPlatforms(p('arm64'), {}, undefined);
  const amd64 = wantedPlatforms(p('amd64'), {}, undefined);
  const zstd = { [ZSTD_INSTANCE_ANNOTATION]: 'true' };

  const variantLess = entry(p('arm64'));
  const v8 = entry(p('arm64', 'v8'));
  const amd = entry(p('amd64'));
  const amdV2 = entry(p('amd64', 'v2'));
  const noPlatform = entry(undefined);
  const amdZstd = entry(p('amd64'), zstd);
  const amdGzip = entry(p('amd64'));
  const windows = entry({ os: 'windows', architecture: 'amd64', 'os.version': '10.0' });
  const osVersioned = entry({ os: 'linux', architecture: 'amd64', 'os.version': '1', 'os.features': ['x'] });

  const table: [string, ManifestList, Platform[], Descriptor][] = [
    ['docker list: wanted order beats list order (v8 first when v8 is detected)', list(variantLess, v8), arm64v8, v8],
    ['docker list: variant-less first when no variant is known', list(v8, variantLess), arm64, variantLess],
    ['docker list: a variant-less entry serves a v8 host', list(amd, variantLess), arm64v8, variantLess],
    ['OCI index: the best platform wins over list order', index(variantLess, v8), arm64v8, v8],
    ['OCI index: no variant known prefers the variant-less entry', index(v8, variantLess), arm64, variantLess],
    ['OCI index: an entry without platform is the last resort', index(noPlatform, amd), arm64v8, noPlatform],
    ['OCI index: a matching platform beats an entry without one', index(noPlatform, v8), arm64v8, v8],
    ['OCI index: zstd is preferred among equals', index(amdGzip, amdZstd), amd64, amdZstd],
    ['OCI index: zstd does not beat a better platform', index(entry(p('arm64'), zstd), v8), arm64v8, v8],
    ['OCI index: list order among equals', index(amd, amdGzip), amd64, amd],
    ['amd64 never takes an amd64/v2 entry', index(amdV2, amd), amd64, amd],
    ['os.version and os.features are ignored', index(windows, osVersioned), amd64, osVersioned],
  ];
  for (const [why, manifest, wanted, expected] of table) {
    it(why, () => expect(chooseInstance(manifest, wanted)).to.equal(expected));
  }

  const failures: [string, ManifestList, Platform[], RegExp][] = [
    ['a docker list of other architectures', list(amd, amdV2), arm64v8, /^no image found in manifest list for architecture "arm64", variant "v8", OS "linux"$/],
    ['amd64/v2 only', index(amdV2), amd64, /^no image found in image index for architecture "amd64", variant "", OS "linux"$/],
    ['a docker list entry without platform', list(entry(undefined)), amd64, /manifest list/],
    ['an empty index', index(), amd64, /image index/],
  ];
  for (const [why, manifest, wanted, message] of failures) {
    it(`fails for ${why}`, () => {
      try {
        chooseInstance(manifest, wanted);
      } catch (err) {
        expect(isProxyError(err, 'no-matching-platform')).to.equal(true);
        expect((err as Error).message).to.match(message);
        return;
      }
      expect.fail('chose an instance');
    });
  }
});
