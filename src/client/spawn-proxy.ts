import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ImageProxyError } from './errors.js';
import { StderrTail } from './stderr-tail.js';
import { type ExitStatus } from './types.js';

export interface SpawnOptions {
  /** The image the proxy serves without `?image=` (`transport:reference`); optional. */
  readonly image?: string;
  /** Proxy options placed before IMAGE, e.g. `['--policy', 'policy.json', '--tls-verify=false']`. */
  readonly args?: readonly string[];
  /** The program and its leading arguments; default: this package's CLI under the current Node. */
  readonly command?: readonly string[];
  /** The proxy's environment; default: this process's. `MALLOC_ARENA_MAX=1` is added unless it sets one. */
  readonly env?: NodeJS.ProcessEnv;
  /** The proxy's working directory, against which relative paths in images and options resolve. */
  readonly cwd?: string;
  /**
   * Where the proxy's stderr goes: 'inherit' (default) copies it to this process's stderr,
   * 'ignore' drops it, 'pipe' leaves it to read from `child.stderr` (read it right after spawn).
   * In every case the client keeps its last line to explain a proxy that exits on its own.
   */
  readonly stderr?: 'inherit' | 'pipe' | 'ignore';
  /**
   * How many connections (socketpairs, `--sockfd 3 --sockfd 4 …`) the client holds; calls run
   * concurrently on them, and each cancelled transfer uses one up. Default 4.
   */
  readonly connections?: number;
}

export const DEFAULT_CONNECTIONS = 4;
/**
 * glibc gives each of V8's and libuv's helper threads a malloc arena of its own unless this is
 * set, and TurboFan's work on undici's WebAssembly parser leaves ~10 MiB in one of them for the
 * life of the process (peak RSS streaming a blob, executable: 109 → 96 MiB, bench/README.md).
 * The bin's shebang sets it; the executable cannot set it for itself (glibc reads it before any
 * JavaScript runs), so the client sets it for the proxy it spawns.
 */
const MALLOC_TUNING = { MALLOC_ARENA_MAX: '1' };
/** How long the end of stderr is awaited after the exit: a grandchild may still hold it open. */
const STDERR_GRACE_MS = 1000;

/**
 * The CLI shipped next to this file (dist/src/client → dist/src/bin), run by the Node running us
 * (the bin's `#!/usr/bin/env` might find an older node first on PATH) with the Node options its
 * shebang carries, so the client's proxy is tuned exactly like the command users run.
 */
export function defaultCommand(): string[] {
  const bin = defaultBin();
  return [process.execPath, ...shebang(bin).nodeOptions, bin];
}

function defaultBin(): string {
  return fileURLToPath(new URL('../bin/container-image-proxy.cjs', import.meta.url));
}

/** `#!/usr/bin/env -S [NAME=VALUE…] node [OPTIONS…]`: the variables and options the bin runs with. */
function shebang(file: string): { env: Record<string, string>; nodeOptions: string[] } {
  const [firstLine = ''] = readFileSync(file, 'utf8').split('\n', 1);
  const match = /^#!\/usr\/bin\/env -S ((?:\w+=\S*\s+)*)node(?:\s+(.+))?$/.exec(firstLine.trim());
  if (!match) return { env: {}, nodeOptions: [] };
  const env = Object.fromEntries(
    (match[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  return { env, nodeOptions: match[2]?.split(/\s+/) ?? [] };
}

/** How the proxy ended: its exit status and the last line it wrote on stderr, if any. */
export interface ProxyEnd {
  readonly status: ExitStatus;
  readonly lastLine: string | undefined;
}

export interface SpawnedProxy {
  readonly child: ChildProcess;
  /** The parent's halves of the socketpairs, one per connection. */
  readonly sockets: readonly Socket[];
  /** Settles once the process has exited and its stderr has been read to the end. */
  readonly ended: Promise<ProxyEnd>;
  /** Whether the child and its stderr keep this process's event loop alive (while calls wait). */
  keepAlive(on: boolean): void;
}

/**
 * Starts the proxy with the child's halves of `connections` socketpairs as fds 3, 4, … (one
 * `--sockfd` each). stdout is ignored so the proxy can never write into the parent's own output;
 * stderr always comes through a pipe, so its last line can explain an exit.
 */
export async function spawnProxy(options: SpawnOptions): Promise<SpawnedProxy> {
  const [program, ...leading] = options.command ?? defaultCommand();
  if (program === undefined) throw new ImageProxyError('proxy-failed', 0, 'the proxy command is empty');
  const connections = options.connections ?? DEFAULT_CONNECTIONS;
  if (!Number.isSafeInteger(connections) || connections < 1) {
    throw new RangeError(`connections must be a positive integer, got ${connections}`);
  }
  const fds = Array.from({ length: connections }, (_, i) => 3 + i);
  const args = [...leading, ...fds.flatMap((fd) => ['--sockfd', String(fd)]), ...(options.args ?? []), ...(options.image === undefined ? [] : [options.image])];
  const child = spawn(program, args, {
    cwd: options.cwd,
    // The default command runs the bin under this Node, so it applies the bin's variables itself;
    // any other command (the single executable) gets MALLOC_ARENA_MAX too. The caller's env wins.
    env: { ...MALLOC_TUNING, ...(options.command === undefined ? shebang(defaultBin()).env : {}), ...(options.env ?? process.env) },
    stdio: ['ignore', 'ignore', 'pipe', ...fds.map(() => 'pipe' as const)],
  });
  const stderr = child.stderr as Socket;
  const tail = new StderrTail(stderr, options.stderr ?? 'inherit');
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ended = exited.then(async (status) => {
    await Promise.race([tail.finished, delay(STDERR_GRACE_MS, undefined, { ref: false })]);
    return { status, lastLine: tail.lastLine() };
  });
  try {
    await once(child, 'spawn');
  } catch (err) {
    throw new ImageProxyError('proxy-failed', 0, `cannot start the proxy ${program}: ${(err as Error).message}`, { cause: err });
  }
  const keepAlive = (on: boolean) => {
    if (on) {
      child.ref();
      stderr.ref();
    } else {
      child.unref();
      stderr.unref();
    }
  };
  keepAlive(false);
  return { child, sockets: fds.map((fd) => child.stdio[fd] as Socket), ended, keepAlive };
}
