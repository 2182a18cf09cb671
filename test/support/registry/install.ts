import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Makes sure the programs the real-registry tests drive are installed. CI runs as root on a
 * clean Debian 12, so there they are installed with apt; elsewhere a missing tool makes the
 * suites skip loudly, except under CI=true where it fails the run (nothing skips silently).
 */

/** Each program the harness runs, and the Debian package that provides it. */
export const REGISTRY_TOOLS = [
  { program: 'docker-registry', aptPackage: 'docker-registry' },
  { program: 'skopeo', aptPackage: 'skopeo' },
  { program: 'htpasswd', aptPackage: 'apache2-utils' },
  { program: 'openssl', aptPackage: 'openssl' },
  { program: 'zstd', aptPackage: 'zstd' },
  { program: 'gpg', aptPackage: 'gnupg' },
  // Debian's toolchain by path: a rustup cargo on PATH cannot build Debian's packaged crates.
  { program: '/usr/bin/cargo', aptPackage: 'cargo' },
  { program: '/usr/bin/rustc', aptPackage: 'rustc' },
  // Runs the linux-arm64 executable (test/e2e/executable.test.ts).
  { program: 'qemu-aarch64', aptPackage: 'qemu-user' },
  // Write the local image stores (containers-storage:) and serve a Docker Engine API (docker-daemon:).
  { program: 'podman', aptPackage: 'podman' },
  { program: 'buildah', aptPackage: 'buildah' },
  // Debian's Docker Engine, the other engine docker-daemon: is tested against; by path, as
  // /usr/sbin is not on every PATH.
  { program: '/usr/sbin/dockerd', aptPackage: 'docker.io' },
] as const;

/** What the Rust client (clients/rust) builds from, offline: Debian's toolchain and crates. */
export const RUST_APT_PACKAGES = [
  'cargo',
  'rustc',
  'librust-hyper-dev',
  'librust-tokio-dev',
  'librust-serde-json-dev',
  'librust-libc-dev',
  'librust-tar-dev',
] as const;

/** What runs the linux-arm64 executable here: qemu-user, with Debian's arm64 glibc and libstdc++. */
export const ARM64_APT_PACKAGES = ['qemu-user', 'libc6-arm64-cross', 'libstdc++6-arm64-cross'] as const;

/** What writes and serves local image stores here (overlay is native; no container runtime is needed). */
export const LOCAL_STORE_APT_PACKAGES = ['podman', 'buildah'] as const;

/** Debian's Docker Engine (dockerd, with containerd and runc); its service is kept from starting, tests run their own. */
export const DOCKER_ENGINE_APT_PACKAGES = ['docker.io'] as const;

/** Installed together, so later suites (signatures, umoci, jq in scripts) find them too. */
export const APT_PACKAGES = [
  'docker-registry',
  'skopeo',
  'apache2-utils',
  'openssl',
  'zstd',
  'jq',
  'gnupg',
  'gpg-agent',
  'umoci',
  ...RUST_APT_PACKAGES,
  ...ARM64_APT_PACKAGES,
  ...LOCAL_STORE_APT_PACKAGES,
  ...DOCKER_ENGINE_APT_PACKAGES,
] as const;

export type ToolsDecision =
  | { readonly action: 'ready' }
  | { readonly action: 'install' }
  | { readonly action: 'fail'; readonly reason: string }
  | { readonly action: 'skip'; readonly reason: string };

export interface ToolsSituation {
  readonly missing: readonly string[];
  readonly isRoot: boolean;
  readonly ci: boolean;
  /** Set once an install was attempted: why it did not produce the tools. */
  readonly installFailure?: string;
}

/** What to do about missing tools; pure, so every branch is unit-tested. */
export function decideTools(situation: ToolsSituation): ToolsDecision {
  if (situation.missing.length === 0) return { action: 'ready' };
  const missing = situation.missing.join(', ');
  let reason: string;
  if (situation.installFailure !== undefined) {
    reason = `real-registry tools still missing (${missing}) after apt-get: ${situation.installFailure}`;
  } else if (situation.isRoot) {
    return { action: 'install' };
  } else {
    reason = `real-registry tools missing (${missing}) and not root, so they cannot be installed; run: sudo apt-get install ${APT_PACKAGES.join(' ')}`;
  }
  return situation.ci ? { action: 'fail', reason } : { action: 'skip', reason };
}

export function missingTools(): string[] {
  return REGISTRY_TOOLS.filter((tool) => !onPath(tool.program)).map((tool) => tool.program);
}

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' }).status === 0;
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/** apt-get install with the packaged services kept from starting (docker-registry would take :5000). */
function aptInstall(): string | undefined {
  const createdPolicy = !existsSync(POLICY_RC_D);
  if (createdPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const options = { env, stdio: ['ignore', 'ignore', 'pipe'] as ('ignore' | 'pipe')[], encoding: 'utf8' as const, timeout: 15 * 60_000 };
    const update = spawnSync('apt-get', ['update'], options);
    if (update.status !== 0) return `apt-get update failed: ${update.stderr || update.error?.message}`;
    const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], options);
    if (install.status !== 0) return `apt-get install failed: ${install.stderr || install.error?.message}`;
    return undefined;
  } finally {
    if (createdPolicy) rmSync(POLICY_RC_D, { force: true });
  }
}

export type ToolsStatus = { readonly ready: true } | { readonly ready: false; readonly reason: string };

let cached: ToolsStatus | undefined;

/**
 * Ensures the tools are there (installing them once per process when root). Throws under
 * CI=true when they cannot be had; otherwise returns the reason for the caller to skip with.
 */
export function ensureRegistryTools(): ToolsStatus {
  if (cached !== undefined) return cached;
  const ci = process.env.CI === 'true';
  const isRoot = process.getuid?.() === 0;
  let decision = decideTools({ missing: missingTools(), isRoot, ci });
  if (decision.action === 'install') {
    const installFailure = aptInstall() ?? 'the packages installed but the programs are not on PATH';
    decision = decideTools({ missing: missingTools(), isRoot, ci, installFailure });
  }
  switch (decision.action) {
    case 'ready':
      cached = { ready: true };
      return cached;
    case 'fail':
      throw new Error(decision.reason);
    case 'skip':
      cached = { ready: false, reason: decision.reason };
      return cached;
    case 'install':
      throw new Error('unreachable: install decided twice');
  }
}

/**
 * For a mocha `before` hook: skips the suite with a loud message when the tools are missing
 * outside CI (under CI=true ensureRegistryTools has already thrown).
 */
export function requireRegistryTools(context: Mocha.Context): void {
  context.timeout(20 * 60_000); // an apt install on a clean machine takes a while
  const status = ensureRegistryTools();
  if (!status.ready) {
    console.warn(`\n  !!! SKIPPING real-registry tests: ${status.reason}\n`);
    context.skip();
  }
}
