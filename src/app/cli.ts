#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { type ProxyError } from '../domain/errors.js';
import { type ImageApi } from '../ports/image-api.js';
import { type CliCommand, ExitCode, parseCommandLine, USAGE } from './cli-args.js';
import { VERSION } from './version.js';

// Startup time is what a sidecar's parent waits for; the compile cache roughly halves module loading.
enableCompileCache();

const PROGRAM = 'container-image-proxy';

function say(line: string): void {
  process.stderr.write(`${PROGRAM}: ${line}\n`);
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && 'message' in err) return `${String(err.code)}: ${String(err.message)}`;
  return err instanceof Error ? err.message : String(err);
}

async function serve(command: Extract<CliCommand, { kind: 'serve' }>): Promise<number> {
  const target = command.serve;
  // Modules load only now, the heavy ones last: help, version and usage errors stay fast.
  const { isSocketFd } = await import('../adapters/http/serve.js');
  if (target.kind === 'stdin' && !isSocketFd(0)) {
    say('standard input is not a socket: pass --sockfd N (a connected socket) or --listen ADDR');
    return ExitCode.usage;
  }
  const [{ buildContainer }, { Tokens }, http] = await Promise.all([import('./container.js'), import('./tokens.js'), import('../adapters/http/index.js')]);
  let api: ImageApi;
  try {
    api = (await buildContainer(command.proxy)).get<ImageApi>(Tokens.ImageApi);
  } catch (err) {
    say(describe(err));
    return ExitCode.failure;
  }
  const onLog = command.quiet ? undefined : say;

  if (target.kind === 'listen') {
    const listening = await http.listenOn(
      http.createImageApp(api, {
        onQuit: () => void listening.close(),
        onFatal: (err: ProxyError) => say(`connection closed: ${describe(err)}`),
        onLog,
      }, { version: VERSION }),
      target.address,
    );
    onLog?.(`listening on ${listening.description}`);
    return new Promise<number>((resolve) => listening.server.once('close', () => resolve(ExitCode.ok)));
  }

  const app = http.createImageApp(api, {
    onQuit: () => process.exit(ExitCode.ok),
    onFatal: (err: ProxyError) => {
      say(describe(err));
      process.exit(ExitCode.failure);
    },
    onLog,
  }, { version: VERSION });
  await http.serveInheritedSocket(app, target.kind === 'fd' ? target.fd : 0);
  return ExitCode.ok;
}

async function main(): Promise<number> {
  const command = parseCommandLine(process.argv.slice(2), { env: process.env, cwd: process.cwd(), homeDir: homedir(), uid: process.getuid?.() });
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
      return serve(command);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(describe(err));
    process.exit(ExitCode.failure);
  },
);
