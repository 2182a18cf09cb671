import { type RequestListener } from 'node:http';
import { homedir } from 'node:os';
import { type ProxyError } from '../domain/errors.js';
import { type ImageApi } from '../ports/image-api.js';
import { type CliCommand, ExitCode, parseCommandLine, USAGE } from './cli-args.js';
import { type PortOverrides } from './container.js';
import { VERSION } from './version.js';

const PROGRAM = 'container-image-proxy';

export function say(line: string): void {
  process.stderr.write(`${PROGRAM}: ${line}\n`);
}

export function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && 'message' in err) return `${String(err.code)}: ${String(err.message)}`;
  return err instanceof Error ? err.message : String(err);
}

async function serve(command: Extract<CliCommand, { kind: 'serve' }>, overrides: PortOverrides): Promise<number> {
  const target = command.serve;
  // Modules load only now, the heavy ones last: help, version and usage errors stay fast.
  const [{ isSocketFd, serveInheritedSockets }, { messageLogLine, withRequestLog }] = await Promise.all([
    import('../adapters/http/serve.js'),
    import('../adapters/http/request-log.js'),
  ]);
  if (target.kind === 'stdin' && !isSocketFd(0)) {
    say('standard input is not a socket: pass --sockfd N (a connected socket) or --listen ADDR');
    return ExitCode.usage;
  }
  const [{ buildContainer }, { Tokens }, http] = await Promise.all([import('./container.js'), import('./tokens.js'), import('../adapters/http/index.js')]);
  // With debug logging stderr is all JSON lines, so a reader parses one format.
  const debug = command.logLevel === 'debug';
  const report = debug ? (line: string) => process.stderr.write(`${messageLogLine('error', line)}\n`) : say;
  let api: ImageApi;
  try {
    api = (await buildContainer(command.proxy, overrides)).get<ImageApi>(Tokens.ImageApi);
  } catch (err) {
    report(describe(err));
    return ExitCode.failure;
  }
  const onLog = command.quiet ? undefined : report;
  const logged = (app: RequestListener): RequestListener => (debug ? withRequestLog(app, { write: (line) => process.stderr.write(`${line}\n`) }) : app);

  if (target.kind === 'listen') {
    const listening = await http.listenOn(
      logged(http.createImageApp(api, {
        onQuit: () => void listening.close(),
        onFatal: (err: ProxyError) => report(`connection closed: ${describe(err)}`),
        onLog,
      }, { version: VERSION })),
      target.address,
    );
    if (!command.quiet) {
      const line = `listening on ${listening.description}`;
      if (debug) process.stderr.write(`${messageLogLine('info', line)}\n`);
      else say(line);
    }
    return new Promise<number>((resolve) => listening.server.once('close', () => resolve(ExitCode.ok)));
  }

  // A blob that fails verification ends the whole process, whichever connection asked for it:
  // the parent learns of it from the exit status, as with one connection.
  const app = http.createImageApp(api, {
    onQuit: () => process.exit(ExitCode.ok),
    onFatal: (err: ProxyError) => {
      report(describe(err));
      process.exit(ExitCode.failure);
    },
    onLog,
  }, { version: VERSION });
  const fds = target.kind === 'fds' ? target.fds : [target.kind === 'fd' ? target.fd : 0];
  // Every peer closing is the end of the session: exit 0 then, as with one connection.
  await serveInheritedSockets(logged(app), fds);
  return ExitCode.ok;
}

/**
 * Runs the proxy as the command line describes, and resolves to the exit status. The bin calls
 * it with no overrides; a program that embeds the proxy with an adapter of its own (a custom
 * credential source, say) calls it with that adapter — see examples/custom-credentials.ts.
 */
export async function runProxy(argv: readonly string[], overrides: PortOverrides = {}): Promise<number> {
  const command = parseCommandLine(argv, { env: process.env, cwd: process.cwd(), homeDir: homedir(), uid: process.getuid?.() });
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return ExitCode.ok;
    case 'version':
      process.stdout.write(`${PROGRAM} ${VERSION}\n`);
      return ExitCode.ok;
    case 'usage-error':
      say(`${command.message} (see --help)`);
      return ExitCode.usage;
    case 'serve':
      return serve(command, overrides);
  }
}
