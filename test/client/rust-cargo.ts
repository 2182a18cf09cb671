/**
 * Building and running the Rust client (clients/rust) the way a Debian user without crates.io
 * does: Debian's cargo and rustc by path (a rustup toolchain may come first on PATH), Debian's
 * packaged crates through the source replacement in `cargo-config-debian.toml`, offline.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI_PATH, REPO_ROOT } from '../support/spawn-proxy.js';

export const CRATE_DIR = join(REPO_ROOT, 'clients/rust');
const DEBIAN_TOOLS = ['/usr/bin/cargo', '/usr/bin/rustc', '/usr/bin/rustdoc'] as const;
const DEBIAN_CRATES = '/usr/share/cargo/registry';
/** The crates the client and its examples use, as Debian 12 packages them. */
const NEEDED_CRATES = ['hyper-0.14.', 'tokio-1.', 'serde_json-1.', 'libc-0.2.', 'tar-0.4.'] as const;
/** Kept between runs, so only a first build compiles the dependencies (~1 min on 2 cores). */
const CACHE = join(REPO_ROOT, 'node_modules/.cache/container-image-proxy-rust');
const TARGET_DIR = join(CACHE, 'target');

/** Why the client cannot be built here, or undefined when it can. */
export function rustToolchainMissing(): string | undefined {
  const missing: string[] = DEBIAN_TOOLS.filter((tool) => !existsSync(tool));
  const crates = existsSync(DEBIAN_CRATES) ? readdirSync(DEBIAN_CRATES) : [];
  missing.push(...NEEDED_CRATES.filter((prefix) => !crates.some((name) => name.startsWith(prefix))).map((prefix) => `${DEBIAN_CRATES}/${prefix}*`));
  return missing.length === 0
    ? undefined
    : `Debian's Rust toolchain and crates (${missing.join(', ')}; apt-get install cargo rustc librust-hyper-dev librust-tokio-dev librust-serde-json-dev librust-libc-dev librust-tar-dev)`;
}

export interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, whatever its exit status: failing runs are what some tests check. */
export function execute(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number }): Promise<Exited> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { env: options.env, cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr });
      },
    );
    child.stdin?.end();
  });
}

/** `cargo test`: builds the library, its unit tests and its examples, then runs the tests. */
export function cargoTest(): Promise<Exited> {
  const env = {
    ...process.env,
    RUSTC: '/usr/bin/rustc',
    RUSTDOC: '/usr/bin/rustdoc',
    CARGO_TARGET_DIR: TARGET_DIR,
    // Nothing from the user's cargo configuration (a rustup home, another registry) applies.
    CARGO_HOME: join(CACHE, 'cargo-home'),
    CARGO_TERM_COLOR: 'never',
    // No debug info: a third of the build time and most of the ~650 MB the target dir would take.
    CARGO_PROFILE_DEV_DEBUG: '0',
  };
  return execute('/usr/bin/cargo', ['--config', 'cargo-config-debian.toml', 'test'], { env, cwd: CRATE_DIR, timeoutMs: 15 * 60_000 });
}

export type ExampleName = 'fetch' | 'extract' | 'blob';

/** Where `cargoTest()` leaves an example's binary. */
export function examplePath(name: ExampleName): string {
  return join(TARGET_DIR, 'debug/examples', name);
}

/**
 * An example's environment: the repository's CLI found through `CONTAINER_IMAGE_PROXY`, with
 * this Node first on PATH for the CLI's `#!/usr/bin/env node`.
 */
export function exampleEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { CONTAINER_IMAGE_PROXY: CLI_PATH, ...env, PATH: [dirname(process.execPath), env.PATH ?? ''].join(':') };
}

/** Runs an example binary to its end against the repository's CLI. */
export function runExample(name: ExampleName, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exited> {
  return execute(examplePath(name), args, { env: exampleEnv(env), cwd: REPO_ROOT, timeoutMs: 60_000 });
}
