import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ImageProxyError } from './errors.js';
import { type ExitStatus } from './types.js';

export interface SpawnOptions {
  /** The image the proxy serves without `?image=` (`transport:reference`); optional. */
  readonly image?: string;
  /** Proxy options placed before IMAGE, e.g. `['--policy', 'policy.json', '--tls-verify=false']`. */
  readonly args?: readonly string[];
  /** The program and its leading arguments; default: this package's CLI under the current Node. */
  readonly command?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where the proxy's stderr goes; with 'pipe', read it from `child.stderr`. Default 'inherit'. */
  readonly stderr?: 'inherit' | 'pipe' | 'ignore';
}

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
  const env = Object.fromEntries((match[1] ?? '').trim().split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  return { env, nodeOptions: match[2]?.split(/\s+/) ?? [] };
}

export interface SpawnedProxy {
  readonly child: ChildProcess;
  /** The parent's half of the socketpair. */
  readonly socket: Socket;
  readonly exited: Promise<ExitStatus>;
}

/**
 * Starts the proxy with the child's half of a socketpair as its fd 3 (`--sockfd 3`). stdout is
 * ignored so the proxy can never write into the parent's own output.
 */
export async function spawnProxy(options: SpawnOptions): Promise<SpawnedProxy> {
  const [program, ...leading] = options.command ?? defaultCommand();
  if (program === undefined) throw new ImageProxyError('proxy-failed', 0, 'the proxy command is empty');
  const args = [...leading, '--sockfd', '3', ...(options.args ?? []), ...(options.image === undefined ? [] : [options.image])];
  const child = spawn(program, args, {
    cwd: options.cwd,
    // The default command runs the bin under this Node, so it applies the bin's variables itself.
    env: { ...(options.command === undefined ? shebang(defaultBin()).env : {}), ...(options.env ?? process.env) },
    stdio: ['ignore', 'ignore', options.stderr ?? 'inherit', 'pipe'],
  });
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await once(child, 'spawn');
  } catch (err) {
    throw new ImageProxyError('proxy-failed', 0, `cannot start the proxy ${program}: ${(err as Error).message}`, { cause: err });
  }
  return { child, socket: child.stdio[3] as Socket, exited };
}
