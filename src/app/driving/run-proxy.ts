import { readFile } from 'node:fs/promises';
import { type RequestListener } from 'node:http';
import { homedir } from 'node:os';
import { ProxyError } from '../../domain/errors.js';
import { type ImageApi } from '../../ports/image-api.js';
import { type CliCommand, ExitCode, parseCommandLine, USAGE } from './cli-args.js';
import { type ClientTokenSource, oneToken, TOKEN_ENV } from './cli-serve-args.js';
import { codeCacheNote } from './code-cache-note.js';
import { type PortOverrides } from '../composition/container.js';
import { loadImageServer, loadSocketServing } from '../composition/serving.js';
import { VERSION } from '../core/version.js';

const PROGRAM = 'container-image-proxy';

export function say(line: string): void {
  process.stderr.write(`${PROGRAM}: ${line}\n`);
}

export function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && 'message' in err) return `${String(err.code)}: ${String(err.message)}`;
  return err instanceof Error ? err.message : String(err);
}

/** Connections a listening proxy accepts at most, when the file-descriptor limit allows. */
const MAX_CONNECTIONS = 1024;
/** Descriptors kept for the process itself (Node, stdio, registry connections, open files). */
const RESERVED_DESCRIPTORS = 64;

/**
 * Each connection holds a descriptor, and another one or two while it reads a file or a
 * registry: with the limit at a third of what the reserve leaves, the connections already
 * accepted can still open what they need when new ones keep coming, and those are refused.
 */
function connectionLimit(): number {
  // Node has no getrlimit; its diagnostic report carries the limits (and costs a few ms, once).
  const report = process.report.getReport() as { userLimits?: { open_files?: { soft?: unknown } } };
  const soft = report.userLimits?.open_files?.soft;
  if (typeof soft !== 'number') return MAX_CONNECTIONS;
  return Math.max(1, Math.min(MAX_CONNECTIONS, Math.floor((soft - RESERVED_DESCRIPTORS) / 3)));
}

/** SIGINT and SIGTERM end the session: `stop` ends every connection; the status is 128 + the signal's number. */
function onStopSignal(stop: (status: number) => void): void {
  process.once('SIGINT', () => stop(ExitCode.interrupted));
  process.once('SIGTERM', () => stop(ExitCode.terminated));
}

async function readClientToken(source: ClientTokenSource | undefined): Promise<string | undefined> {
  if (source?.kind !== 'file') return source?.value;
  let text: string;
  try {
    text = await readFile(source.path, 'utf8');
  } catch (err) {
    throw new ProxyError('config-invalid', `cannot read --listen-token-file ${source.path}: ${(err as Error).message}`, { cause: err });
  }
  const token = oneToken(text);
  if (token === undefined) throw new ProxyError('config-invalid', `--listen-token-file ${source.path}: expected one token without spaces`);
  return token;
}

async function serve(command: Extract<CliCommand, { kind: 'serve' }>, overrides: PortOverrides): Promise<number> {
  const target = command.serve;
  // Modules load only now, the heavy ones last: help, version and usage errors stay fast.
  const { isSocketFd, serveInheritedSockets, messageLogLine, withRequestLog } = await loadSocketServing();
  if (target.kind === 'stdin' && !isSocketFd(0)) {
    say('standard input is not a socket: pass --sockfd N (a connected socket) or --listen ADDR');
    return ExitCode.usage;
  }
  const [{ createImageApi }, http, { checkNamedPaths }, { KeyFileProblem, readDecryptionKeys }] = await Promise.all([
    import('../composition/container.js'),
    loadImageServer(),
    import('./named-paths.js'),
    import('../composition/decryption-key-files.js'),
  ]);
  // With debug logging stderr is all JSON lines, so a reader parses one format.
  const debug = command.logLevel === 'debug';
  const report = debug ? (line: string) => process.stderr.write(`${messageLogLine('error', line)}\n`) : say;
  const log = new http.StreamLog({
    level: command.logLevel,
    format: debug ? 'json' : 'text',
    program: PROGRAM,
    write: (line) => process.stderr.write(`${line}\n`),
  });
  const cacheNote = codeCacheNote();
  if (cacheNote !== undefined) log.record('debug', 'code-cache', cacheNote);
  let api: ImageApi;
  let clientToken: string | undefined;
  let decryptionKeys;
  try {
    decryptionKeys = await readDecryptionKeys(command.decryptionKeys);
  } catch (err) {
    // A key that cannot be used is a command line that cannot be run, as ocicrypt's callers treat it.
    if (!(err instanceof KeyFileProblem)) throw err;
    say(`${err.message} (see --help)`);
    return ExitCode.usage;
  }
  try {
    await checkNamedPaths(command.namedPaths);
    api = await createImageApi({ ...command.proxy, decryptionKeys }, { log, ...overrides });
    clientToken = target.kind === 'listen' ? await readClientToken(target.token) : undefined;
  } catch (err) {
    report(describeError(err));
    return ExitCode.failure;
  }
  const onLog = command.quiet ? undefined : report;
  const logged = (app: RequestListener): RequestListener => (debug ? withRequestLog(app, { write: (line) => process.stderr.write(`${line}\n`) }) : app);
  const limits = { headersTimeoutMs: command.headersTimeoutMs };
  let status: number = ExitCode.ok;

  if (target.kind === 'listen') {
    const address = target.address;
    const listening = await http.listenOn(
      logged(
        http.createImageApp(
          api,
          {
            onQuit: () => void listening.close(),
            onFatal: (err: ProxyError) => report(`connection closed: ${describeError(err)}`),
            onLog,
          },
          { version: VERSION, clientToken, refuseBrowsers: address.kind === 'tcp' },
        ),
      ),
      address,
      {
        ...limits,
        firstRequestRequired: clientToken !== undefined,
        maxConnections: connectionLimit(),
        loopbackOnly: address.kind === 'tcp' && http.isLoopbackHost(address.host),
      },
    );
    onStopSignal((signalled) => {
      status = signalled;
      void listening.close();
    });
    if (!command.quiet) {
      const line = `listening on ${listening.description}`;
      if (debug) process.stderr.write(`${messageLogLine('info', line)}\n`);
      else say(line);
    }
    await listening.closed;
    return status;
  }

  // A blob that fails verification ends the whole process, whichever connection asked for it:
  // the parent learns of it from the exit status, as with one connection.
  const app = http.createImageApp(
    api,
    {
      onQuit: () => process.exit(ExitCode.ok),
      onFatal: (err: ProxyError) => {
        report(describeError(err));
        process.exit(ExitCode.failure);
      },
      onLog,
    },
    { version: VERSION },
  );
  const fds = target.kind === 'fds' ? target.fds : [target.kind === 'fd' ? target.fd : 0];
  const connections = serveInheritedSockets(logged(app), fds, limits);
  onStopSignal((signalled) => {
    status = signalled;
    connections.destroyAll();
  });
  // Every peer closing is the end of the session: exit 0 then, as with one connection.
  await connections.closed;
  return status;
}

/**
 * Runs the proxy as the command line describes, and resolves to the exit status. The bin calls
 * it with no overrides; a program that embeds the proxy with an adapter of its own (a custom
 * credential source, say) calls it with that adapter — see examples/custom-credentials.ts.
 */
export async function runProxy(argv: readonly string[], overrides: PortOverrides = {}): Promise<number> {
  const command = parseCommandLine(argv, { env: process.env, cwd: process.cwd(), homeDir: homedir(), uid: process.getuid?.() });
  // Read once: the credential helpers the proxy runs inherit its environment, and have no use for it.
  delete process.env[TOKEN_ENV];
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return ExitCode.ok;
    case 'version':
      // skopeo's form: `skopeo version 1.9.3`.
      process.stdout.write(`${PROGRAM} version ${VERSION}\n`);
      return ExitCode.ok;
    case 'usage-error':
      say(`${command.message} (see --help)`);
      return ExitCode.usage;
    case 'serve':
      return serve(command, overrides);
  }
}
