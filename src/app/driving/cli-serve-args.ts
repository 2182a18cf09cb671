import { isLoopbackHost, type ListenAddress } from '../composition/option-vocabulary.js';
import { parseDuration } from './cli-registry-args.js';
import { type OptionKind, type ScannedArgs, UsageProblem } from './cli-scan.js';

/** Where to speak HTTP, who may, and how patient to be: the serving options of the command line. */

export const SERVE_OPTIONS: Readonly<Record<string, OptionKind>> = {
  sockfd: 'value',
  listen: 'value',
  'unsafe-expose-to-network': 'flag',
  'listen-token-file': 'value',
};

/** The environment variable a listen token may come from (never argv, where other users can read it). */
export const TOKEN_ENV = 'CONTAINER_IMAGE_PROXY_TOKEN';
/** Test hook, not a user option: the headers timeout (a duration), so tests need not wait a minute. */
export const HEADERS_TIMEOUT_ENV = 'CONTAINER_IMAGE_PROXY_HEADERS_TIMEOUT';

/** The token clients of a listening proxy must send: a file to read at start, or the environment's value. */
export type ClientTokenSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'value'; readonly value: string };

/** Where to speak HTTP: `fds` when --sockfd was given more than once. */
export type ServeTarget =
  | { readonly kind: 'fd'; readonly fd: number }
  | { readonly kind: 'fds'; readonly fds: readonly number[] }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'listen'; readonly address: ListenAddress; readonly token: ClientTokenSource | undefined };

function parseListenAddress(value: string): ListenAddress {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (path === '') throw new UsageProblem('--listen unix: needs a socket path');
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageProblem(`--listen ${JSON.stringify(value)}: expected HOST:PORT, [IPv6]:PORT or unix:PATH`);
  }
  return { kind: 'tcp', host: match[1] ?? match[2]!, port };
}

function parseFd(sockfd: string): number {
  if (!/^\d+$/.test(sockfd) || !Number.isSafeInteger(Number(sockfd))) {
    throw new UsageProblem(`--sockfd ${JSON.stringify(sockfd)}: expected a file descriptor number`);
  }
  return Number(sockfd);
}

function tokenSource(
  args: ScannedArgs,
  env: Readonly<Record<string, string | undefined>>,
  cwdResolve: (path: string) => string,
): ClientTokenSource | undefined {
  const file = args.values.get('listen-token-file');
  if (file !== undefined) {
    if (file === '') throw new UsageProblem('--listen-token-file needs a file name');
    return { kind: 'file', path: cwdResolve(file) };
  }
  const value = env[TOKEN_ENV];
  if (value === undefined || value === '') return undefined;
  const token = oneToken(value);
  // The value itself is never quoted: it is a secret, and a wrong one may be close to the right one.
  if (token === undefined) throw new UsageProblem(`$${TOKEN_ENV}: expected one token without spaces`);
  return { kind: 'value', value: token };
}

/** A token as written in a file or a variable: trimmed, and one word; undefined when it is not. */
export function oneToken(text: string): string | undefined {
  const token = text.trim();
  return /^\S+$/.test(token) ? token : undefined;
}

/**
 * A listening proxy acts with the host's credentials and reads local paths for whoever connects,
 * so a TCP address beyond loopback needs an explicit, plainly named permission and a token.
 */
function listenTarget(value: string, args: ScannedArgs, env: Readonly<Record<string, string | undefined>>, cwdResolve: (path: string) => string): ServeTarget {
  const address = parseListenAddress(value);
  const exposed = args.flags.get('unsafe-expose-to-network') === true;
  const token = tokenSource(args, env, cwdResolve);
  if (address.kind === 'unix' && exposed) throw new UsageProblem('--unsafe-expose-to-network applies to a TCP --listen address, not unix:');
  if (address.kind === 'tcp' && !isLoopbackHost(address.host)) {
    if (!exposed) {
      throw new UsageProblem(
        `--listen ${value}: not a loopback address; whoever can reach it could pull images with this host's credentials, ` +
          'read local files through ?image= and stop the proxy. To allow it anyway, pass --unsafe-expose-to-network and a token',
      );
    }
    if (token === undefined) throw new UsageProblem(`--unsafe-expose-to-network needs a token clients must send: --listen-token-file FILE or $${TOKEN_ENV}`);
  }
  return { kind: 'listen', address, token };
}

/** Unlike the other options, every --sockfd counts: each names one more connection to serve. */
export function serveTarget(args: ScannedArgs, env: Readonly<Record<string, string | undefined>>, cwdResolve: (path: string) => string): ServeTarget {
  const sockfds = args.allValues.get('sockfd') ?? [];
  const listen = args.values.get('listen');
  if (sockfds.length > 0 && listen !== undefined) throw new UsageProblem('--sockfd and --listen cannot be used together');
  if (listen !== undefined) return listenTarget(listen, args, env, cwdResolve);
  for (const option of ['unsafe-expose-to-network', 'listen-token-file']) {
    if (args.flags.has(option) || args.values.has(option)) throw new UsageProblem(`--${option} only applies with --listen`);
  }
  if (sockfds.length === 0) return { kind: 'stdin' };
  const fds = sockfds.map(parseFd);
  const repeated = fds.find((fd, i) => fds.indexOf(fd) !== i);
  if (repeated !== undefined) throw new UsageProblem(`--sockfd ${repeated} is given more than once`);
  return fds.length === 1 ? { kind: 'fd', fd: fds[0]! } : { kind: 'fds', fds };
}

/** The headers timeout the test hook asks for; undefined means the server's default. */
export function headersTimeoutMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const spelled = env[HEADERS_TIMEOUT_ENV];
  return spelled === undefined || spelled === '' ? undefined : parseDuration(`$${HEADERS_TIMEOUT_ENV}`, spelled);
}
