import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Socket } from 'node:net';
import { dirname } from 'node:path';

/**
 * The thinnest HTTP/1.1 client that can talk to the proxy over its socketpair: it writes a
 * request line, parses the status line and Content-Length, then only counts body bytes (or
 * keeps them, for small answers). node:http's client would add its own per-chunk cost to the
 * figure being measured.
 */

export interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: number;
  /** Present when the caller asked to keep the body. */
  readonly body?: Buffer;
}

interface Pending {
  readonly keepBody: boolean;
  readonly resolve: (answer: RawAnswer) => void;
  readonly reject: (err: Error) => void;
  head: Buffer;
  status?: number;
  headers?: Map<string, string>;
  length?: number;
  received: number;
  chunks: Buffer[];
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class RawHttpConnection {
  private pending: Pending | undefined;
  private closed: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the proxy closed the connection')));
  }

  request(method: string, path: string, keepBody = false): Promise<RawAnswer> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.pending = { keepBody, resolve, reject, head: Buffer.alloc(0), received: 0, chunks: [] };
      this.socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n`);
    });
  }

  private onData(chunk: Buffer): void {
    const pending = this.pending;
    if (!pending) return;
    let body = chunk;
    if (pending.length === undefined) {
      pending.head = Buffer.concat([pending.head, chunk]);
      const end = pending.head.indexOf(HEAD_END);
      if (end < 0) return;
      const lines = pending.head.subarray(0, end).toString('latin1').split('\r\n');
      pending.status = Number(lines[0]?.split(' ')[1]);
      pending.headers = new Map(lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      pending.length = Number(pending.headers.get('content-length') ?? 0);
      body = pending.head.subarray(end + HEAD_END.length);
    }
    pending.received += body.length;
    if (pending.keepBody) pending.chunks.push(body);
    if (pending.received >= pending.length) this.settle(pending);
  }

  private settle(pending: Pending): void {
    this.pending = undefined;
    pending.resolve({
      status: pending.status ?? 0,
      headers: pending.headers ?? new Map(),
      bytes: pending.received,
      ...(pending.keepBody && { body: Buffer.concat(pending.chunks) }),
    });
  }

  private fail(err: Error): void {
    this.closed ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(new Error(`${err.message} after ${pending.received} body bytes`));
  }
}

export interface SpawnedProxy {
  readonly child: ChildProcess;
  readonly http: RawHttpConnection;
  /** performance.now() right before spawn. */
  readonly spawnedAt: number;
  stderr(): string;
  /** Peak resident set (VmHWM) so far, in bytes. */
  peakRss(): number;
  /** POST /quit, then waits for the exit (killing it if it does not go). */
  quit(): Promise<void>;
  kill(): void;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Runs the bin as a user's parent does: executed directly, so its shebang (and the Node flags it
 * carries) applies; `node` is this Node, first on PATH.
 */
export function spawnLeanProxy(cliPath: string, args: readonly string[]): SpawnedProxy {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const spawnedAt = performance.now();
  const child = spawn(cliPath, ['--sockfd', '3', ...args], { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const socket = child.stdio[3] as Socket;
  const http = new RawHttpConnection(socket);
  child.once('error', (err) => socket.destroy(new Error(`cannot run ${cliPath}: ${err.message}`)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    child,
    http,
    spawnedAt,
    stderr: () => stderr,
    peakRss: () => peakRssOf(child.pid ?? 0),
    async quit() {
      await http.request('POST', '/quit').catch(() => undefined);
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
      socket.destroy();
    },
    kill() {
      kill();
      socket.destroy();
    },
  };
}

export function peakRssOf(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
