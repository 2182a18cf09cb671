/**
 * Runs the built CLI the way a real parent does: `spawn` with a socketpair at fd 3
 * (`stdio: [..., 'pipe']`), HTTP/1.1 over the parent's half through a keep-alive `http.Agent`
 * that only ever has that one connection.
 *
 * - `spawnProxy(args)` → a `ProxyProcess` (request, exit, stderr, dispose).
 * - `runCli(args)` → exit code and output of a run that is not expected to serve.
 * - `httpRequest(agent, method, path)` → an `HttpAnswer`, including truncated bodies
 *   (`complete: false`) so tests can assert on them.
 * - `spawnListening(address, args)` → a `ListeningProxy` started with `--listen`, once it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** What package.json's `bin` runs: the bundled CLI (dist/test/support → dist/src/bin), built by `npm run build`. */
export const CLI_PATH = fileURLToPath(new URL('../../src/bin/container-image-proxy.cjs', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface HttpAnswer {
  readonly status: number;
  readonly statusMessage: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** False when the connection ended before Content-Length bytes arrived. */
  readonly complete: boolean;
}

export function httpRequest(agent: Agent, method: string, path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, method, path, host: 'localhost', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      // 'aborted' bodies still resolve: a truncated body is a result the tests inspect.
      res.on('error', () => undefined);
      res.once('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks),
          complete: res.complete,
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

/** A keep-alive agent whose only connection is `socket`; a second connection is a test failure. */
export function agentOver(socket: Socket): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let used = false;
  agent.createConnection = () => {
    if (used) throw new Error('the proxy connection was closed; a sidecar has only one');
    used = true;
    return socket;
  };
  return agent;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProxyProcess {
  readonly child: ChildProcess;
  /** The parent's half of the socketpair. */
  readonly socket: Socket;
  request(method: string, path: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  readonly exited: Promise<ExitStatus>;
  stderr(): string;
  /** Kills the proxy if it still runs and closes the parent's half. */
  dispose(): Promise<void>;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The program (and leading arguments) that is the CLI: by default this Node running the bin's
   * launcher; `[CLI_PATH]` runs it by its shebang as an installed bin is run, an executable's
   * path runs that.
   */
  readonly command?: readonly string[];
  /** Run the proxy as this user and group (a test running as root acting as another user). */
  readonly uid?: number;
  readonly gid?: number;
}

function commandOf(options: SpawnOptions): [string, string[]] {
  const [program, ...leading] = options.command ?? [process.execPath, CLI_PATH];
  return [program!, leading];
}

function exitOf(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export function spawnProxy(args: readonly string[], options: SpawnOptions = {}): ProxyProcess {
  const [program, leading] = commandOf(options);
  const child = spawn(program, [...leading, '--sockfd', '3', ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  const socket = child.stdio[3] as Socket;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout!.resume();
  const exited = exitOf(child);
  const agent = agentOver(socket);
  return {
    child,
    socket,
    exited,
    stderr: () => stderr,
    request: (method, path, headers) => httpRequest(agent, method, path, headers),
    async dispose() {
      agent.destroy();
      socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface CliRun extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with plain pipes, for command lines that end before serving. */
export function runCli(args: readonly string[], options: SpawnOptions = {}): Promise<CliRun> {
  const [program, leading] = commandOf(options);
  const child = spawn(program, [...leading, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export interface ListeningProxy {
  readonly child: ChildProcess;
  /** What the proxy printed after "listening on": `127.0.0.1:PORT` or `unix:PATH`. */
  readonly address: string;
  /** A new connection to it. */
  connect(options?: { readonly allowHalfOpen?: boolean }): Socket;
  readonly exited: Promise<ExitStatus>;
  stderr(): string;
  dispose(): Promise<void>;
}

export interface ListenSpawnOptions extends SpawnOptions {
  /** Shell commands run before the proxy, in the same process (`ulimit -n 128`, `umask 000`). */
  readonly shellSetup?: string;
}

/** Runs the CLI with `--listen ADDRESS` and resolves once it says where it listens. */
export async function spawnListening(address: string, args: readonly string[], options: ListenSpawnOptions = {}): Promise<ListeningProxy> {
  const argv = [CLI_PATH, '--listen', address, ...args];
  const child =
    options.shellSetup === undefined
      ? spawn(process.execPath, argv, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `${options.shellSetup}; exec "$@"`, 'bash', process.execPath, ...argv], {
          cwd: options.cwd ?? REPO_ROOT,
          env: options.env ?? process.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stderr = '';
  child.stdout!.resume();
  const exited = exitOf(child);
  const bound = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      const match = /listening on (\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    void exited.then((status) => reject(new Error(`the proxy exited (${JSON.stringify(status)}) before listening: ${stderr}`)));
  });
  const connectTo = (connectOptions: { readonly allowHalfOpen?: boolean } = {}): Socket => {
    if (bound.startsWith('unix:')) return netConnect({ path: bound.slice('unix:'.length), ...connectOptions });
    const at = bound.lastIndexOf(':');
    return netConnect({ host: bound.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(bound.slice(at + 1)), ...connectOptions });
  };
  return {
    child,
    address: bound,
    connect: connectTo,
    exited,
    stderr: () => stderr,
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** An agent whose every connection goes to `proxy` (a new one per request when not kept alive). */
export function agentFor(proxy: ListeningProxy): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = () => proxy.connect();
  return agent;
}

export interface Peer {
  readonly socket: Socket;
  request(method: string, path: string, headers?: Record<string, string>): Promise<HttpAnswer>;
}

export interface MultiProxy {
  readonly child: ChildProcess;
  readonly peers: readonly Peer[];
  readonly exited: Promise<ExitStatus>;
  stderr(): string;
  dispose(): Promise<void>;
}

/** Spawns the CLI with `count` socketpairs at fds 3, 4, … and one `--sockfd` for each. */
export function spawnWithPeers(count: number, args: readonly string[], env?: NodeJS.ProcessEnv): MultiProxy {
  const fds = Array.from({ length: count }, (_, i) => 3 + i);
  const child = spawn(process.execPath, [CLI_PATH, ...fds.flatMap((fd) => ['--sockfd', String(fd)]), ...args], {
    cwd: REPO_ROOT,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', ...fds.map(() => 'pipe' as const)],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout!.resume();
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const peers = fds.map((fd) => {
    const socket = child.stdio[fd] as Socket;
    const agent = agentOver(socket);
    return { socket, request: (method: string, path: string, headers?: Record<string, string>) => httpRequest(agent, method, path, headers) };
  });
  return {
    child,
    peers,
    exited,
    stderr: () => stderr,
    async dispose() {
      for (const peer of peers) peer.socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
