import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Process and temp-dir bookkeeping for the registry harness. Everything started here is
 * killed (whole process group) and every temp dir removed when the test process exits, even
 * when a suite forgot its `stop()`: a stray registry must never outlive the run.
 */

const liveGroups = new Set<number>();
const liveDirs = new Set<string>();

function cleanUpEverything(): void {
  for (const pgid of liveGroups) killGroup(pgid);
  liveGroups.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

process.once('exit', cleanUpEverything);
// 'exit' does not run when a signal ends the process: clean up, then die of the same signal.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanUpEverything();
    process.kill(process.pid, signal);
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe listener'));
      });
    });
  });
}

export interface DaemonHandle {
  readonly child: ChildProcess;
  readonly logPath: string;
  /** The daemon's log so far (stdout and stderr), for error messages. */
  log(): string;
  /** Kills the daemon's process group and waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a long-running program in its own process group with its output in a log file, so
 * no pipe keeps the test process alive and the whole group can be killed at once.
 */
export function spawnDaemon(command: string, args: readonly string[], options: { logPath: string; cwd?: string; env?: NodeJS.ProcessEnv }): DaemonHandle {
  const logFd = openSync(options.logPath, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pgid = child.pid;
  if (pgid !== undefined) liveGroups.add(pgid);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    child,
    logPath: options.logPath,
    log: () => readFileSync(options.logPath, 'utf8'),
    async stop() {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pgid), 2000);
      await exited;
      clearTimeout(timer);
      killGroup(pgid);
      liveGroups.delete(pgid);
    },
  };
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion; a non-zero exit rejects with its stderr in the message. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          // Only the subcommand is named: arguments may carry test credentials, and
          // execFile's own error message repeats the whole command line, so it is not kept.
          reject(new Error(`${command} ${args[0] ?? ''} failed (${String(error.code ?? error.signal)}): ${stderr.trim()}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export function lastLines(text: string, count = 20): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
