/**
 * The docker-credential-helpers protocol, as containers/image speaks it: run
 * `docker-credential-<name> get`, write the registry host (no newline) to its stdin, read
 * `{"ServerURL","Username","Secret"}` from stdout. A failing helper whose stdout is exactly
 * "credentials not found in native keychain" has nothing for the host; a `<token>` user means
 * the secret is an identity token. The helper is found on the PATH given in the options, never
 * by changing this process's environment, and killed when it overruns its time limit.
 *
 * Errors name the helper and the host and carry the helper's stderr; never its stdout on
 * success, which holds the secret.
 */
import { ProxyError } from '../../domain/errors.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';

export interface CredentialHelperOptions {
  /** The environment the helper runs in; its PATH is where `docker-credential-*` is looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default 30 s. */
  readonly timeoutMs?: number | undefined;
}

const NOT_FOUND = 'credentials not found in native keychain';
const TOKEN_USER = '<token>';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Credentials are a few KiB at most; anything past this is not a helper answer. */
const OUTPUT_LIMIT = 1 << 20;
/** How much of the helper's own diagnostics goes into an error. */
const DIAGNOSTIC_LIMIT = 2_000;

export class CredentialHelper {
  constructor(private readonly options: CredentialHelperOptions) {}

  /** Credentials `docker-credential-<helper>` has for `registry` (host[:port]), or undefined. */
  async get(helper: string, registry: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    signal?.throwIfAborted();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
      throw new ProxyError('credential-helper', `credential helper name ${JSON.stringify(helper)} is not a plain program name suffix`);
    }
    const run = await this.run(`docker-credential-${helper}`, registry, signal);
    if (run.code !== 0) {
      if (run.stdout.trim() === NOT_FOUND) return undefined;
      throw new ProxyError('credential-helper', `credential helper docker-credential-${helper} failed for ${registry} (${run.status})${diagnostics(run)}`);
    }
    return decodeAnswer(run.stdout, helper, registry);
  }

  private run(program: string, registry: string, signal?: AbortSignal): Promise<HelperRun> {
    return new Promise((resolve, reject) => {
      // node:child_process on first use: most sessions never run a helper. Its own process
      // group, so a time limit also ends whatever a helper script started.
      const child = process
        .getBuiltinModule('node:child_process')
        .spawn(program, ['get'], { env: { ...this.options.env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      let failure: ProxyError | undefined;
      const stop = (reason: ProxyError) => {
        failure ??= reason;
        killGroup(child.pid);
        child.kill('SIGKILL');
      };
      const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const timer = setTimeout(
        () =>
          stop(new ProxyError('credential-helper', `credential helper ${program} for ${registry} did not finish within ${timeoutMs / 1000} s and was killed`)),
        timeoutMs,
      );
      const onAbort = () =>
        stop(new ProxyError('credential-helper', `credential helper ${program} for ${registry} was interrupted`, { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > OUTPUT_LIMIT)
          stop(new ProxyError('credential-helper', `credential helper ${program} for ${registry} wrote more than ${OUTPUT_LIMIT} bytes`));
        else into.push(chunk);
      };
      child.stdout.on('data', collect(stdout));
      child.stderr.on('data', collect(stderr));
      // A helper that exits without reading its stdin must not turn into an EPIPE crash.
      child.stdin.on('error', () => undefined);
      child.stdin.end(registry);
      child.once('error', (err: NodeJS.ErrnoException) => {
        failure ??=
          err.code === 'ENOENT'
            ? new ProxyError('credential-helper', `credential helper ${program} (asked for ${registry}) is not installed: not found on PATH`, { cause: err })
            : new ProxyError('credential-helper', `credential helper ${program} for ${registry} could not be started: ${err.code ?? err.message}`, {
                cause: err,
              });
      });
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      // A stopped helper is done when it exits, even if something it left behind holds its pipes.
      child.once('exit', () => {
        if (failure === undefined) return;
        finish();
        child.stdout.destroy();
        child.stderr.destroy();
        reject(signal?.aborted ? signal.reason : failure);
      });
      child.once('close', (code, killedBy) => {
        finish();
        if (failure !== undefined) {
          reject(signal?.aborted ? signal.reason : failure);
          return;
        }
        resolve({
          code: code ?? -1,
          status: killedBy === null ? `exit status ${code}` : `killed by ${killedBy}`,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

interface HelperRun {
  readonly code: number;
  readonly status: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a failed helper said: its stderr, and its stdout, which on failure carries its message. */
function diagnostics(run: HelperRun): string {
  const said = [run.stderr.trim(), run.stdout.trim()].filter((text) => text !== '').join(' / ');
  return said === '' ? '' : `: ${said.length > DIAGNOSTIC_LIMIT ? `${said.slice(0, DIAGNOSTIC_LIMIT)}…` : said}`;
}

function decodeAnswer(stdout: string, helper: string, registry: string): Credentials | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    // Not quoted back: a half-written answer may hold the secret.
    throw new ProxyError('credential-helper', `credential helper docker-credential-${helper} answered for ${registry} with something that is not JSON`);
  }
  if (typeof answer !== 'object' || answer === null) {
    throw new ProxyError('credential-helper', `credential helper docker-credential-${helper} answered for ${registry} with JSON that is not an object`);
  }
  const { Username: username, Secret: secret } = answer as Record<string, unknown>;
  if ((username !== undefined && typeof username !== 'string') || (secret !== undefined && typeof secret !== 'string')) {
    throw new ProxyError('credential-helper', `credential helper docker-credential-${helper} answered for ${registry} with a non-string Username or Secret`);
  }
  if (!secret) return undefined;
  const source = `credential helper docker-credential-${helper}`;
  if (username === TOKEN_USER) return { identityToken: secret, source };
  return username ? { username, password: secret, source } : undefined;
}

/** One named helper as a store in a chain, asked for the target's registry host. */
export class CredentialHelperStore implements CredentialStore {
  constructor(
    private readonly helper: string,
    private readonly runner: CredentialHelper,
  ) {}

  lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined> {
    return this.runner.get(this.helper, target.registry, signal);
  }
}
