import { resolve } from 'node:path';
import { isProxyError } from '../domain/errors.js';
import { type ImageReference } from '../domain/reference.js';
import { type ListenAddress } from '../adapters/http/serve.js';
import { LOG_LEVELS, type LogLevel } from '../adapters/http/request-log.js';
import { parseCredsOption } from '../adapters/credentials/static-credentials.js';
import { parseImageAt } from './image-names.js';
import { type CredentialChoice, DEFAULT_REGISTRY_OPTIONS, type ProxyOptions, type RegistryOptions } from './options.js';

/**
 * Process exit codes: 0 after `POST /quit` (from any connection) or when every peer has closed;
 * 1 when serving fails (a blob that fails verification on any connection ends the whole process,
 * an unusable fd, a listen error); 2 for a command line that cannot be
 * run (unknown or incomplete option, extra IMAGE arguments, an IMAGE that does not parse).
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

export const USAGE = `Usage: container-image-proxy [OPTIONS] [IMAGE]

Serves IMAGE (transport:reference, e.g. oci:DIR:TAG, dir:DIR, docker://HOST/REPO:TAG, oci-archive:FILE,
docker-archive:FILE) over HTTP/1.1 on a socket inherited from the parent process. Requests may
name other images with ?image=TRANSPORT:REFERENCE; without IMAGE, they must.

Options:
      --sockfd N               serve on the connected socket at file descriptor N; repeat it
                               to serve several connections concurrently, sharing one cache
                               (default: standard input, when it is a socket)
      --listen ADDR            accept connections on HOST:PORT or unix:PATH instead
      --override-os OS         use OS instead of the running OS when choosing from a list
      --override-arch ARCH     use ARCH instead of the running architecture
      --override-variant VAR   use VAR instead of the running architecture variant
      --policy FILE            signature policy file (default: the containers policy.json search)
      --insecure-policy        accept any image without reading a signature policy
      --registries.d DIR       where to find signature storage configuration (default: the containers search)

Registry options (docker://):
      --authfile FILE          read credentials from FILE only (default: $REGISTRY_AUTH_FILE, else
                               the containers auth.json search)
      --creds USER[:PASS]      use these credentials
      --username USER          use this user name (with --password)
      --password PASS          use this password (with --username)
      --registry-token TOKEN   send this bearer token
      --no-creds               access the registry anonymously
      --registries-conf FILE   use FILE instead of the containers registries.conf search (default:
                               $CONTAINERS_REGISTRIES_CONF, else $REGISTRIES_CONFIG_PATH)
      --cert-dir DIR           use the CA certificates (*.crt) and client certificates
                               (*.cert, *.key) in DIR
      --tls-verify[=false]     require HTTPS and verify certificates (default: per registry)
      --connect-timeout DUR    give up connecting after DUR (default 30s; e.g. 10s, 1m30s)
      --idle-timeout DUR       give up when a registry sends nothing for DUR (default 60s)
      --user-agent-prefix STR  put STR before the User-Agent sent to registries
  -q, --quiet                  do not report request errors on standard error
      --log-level LEVEL        error, info (the default: report errors) or debug (also one
                               JSON line per request: method, path, status, bytes, ms)
      --debug                  the same as --log-level debug
      --version                print the version and exit
  -h, --help                   print this help and exit
`;

/** Where to speak HTTP: `fds` when --sockfd was given more than once. */
export type ServeTarget =
  | { readonly kind: 'fd'; readonly fd: number }
  | { readonly kind: 'fds'; readonly fds: readonly number[] }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'listen'; readonly address: ListenAddress };

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'serve'; readonly proxy: ProxyOptions; readonly serve: ServeTarget; readonly quiet: boolean; readonly logLevel: LogLevel };

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir: string;
  /** Owner of the per-user runtime auth file; the process's uid. */
  readonly uid?: number | undefined;
  /** The image-name grammar; replaceable so argv handling is testable on its own. */
  readonly parseImage?: (value: string) => ImageReference;
}

type OptionKind = 'flag' | 'value';
const OPTIONS: Readonly<Record<string, OptionKind>> = {
  sockfd: 'value',
  listen: 'value',
  'override-os': 'value',
  'override-arch': 'value',
  'override-variant': 'value',
  policy: 'value',
  'insecure-policy': 'flag',
  'registries.d': 'value',
  authfile: 'value',
  creds: 'value',
  username: 'value',
  password: 'value',
  'registry-token': 'value',
  'no-creds': 'flag',
  'cert-dir': 'value',
  'registries-conf': 'value',
  'tls-verify': 'flag',
  'connect-timeout': 'value',
  'idle-timeout': 'value',
  'user-agent-prefix': 'value',
  quiet: 'flag',
  'log-level': 'value',
  debug: 'flag',
  version: 'flag',
  help: 'flag',
};
const SHORT_OPTIONS: Readonly<Record<string, string>> = { q: 'quiet', h: 'help' };

// The spellings Go's strconv.ParseBool accepts, which is what pflag uses for `--flag=value`.
const BOOLEAN_VALUES: Readonly<Record<string, boolean>> = {
  '1': true, t: true, T: true, true: true, TRUE: true, True: true,
  '0': false, f: false, F: false, false: false, FALSE: false, False: false,
};

/** Internal to this module: every one becomes a `usage-error` command. */
class UsageProblem extends Error {}

interface ScannedArgs {
  /** The last value of each option. */
  readonly values: ReadonlyMap<string, string>;
  /** Every value of each option, in order, for the ones that may repeat. */
  readonly allValues: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlyMap<string, boolean>;
  readonly positionals: readonly string[];
}

/**
 * Reads argv the way skopeo's pflag does: options before or after IMAGE, `--opt value` and
 * `--opt=value`, booleans also `--opt=false`, the last occurrence wins, `--` ends options.
 */
function scan(argv: readonly string[]): ScannedArgs {
  const values = new Map<string, string>();
  const allValues = new Map<string, string[]>();
  const flags = new Map<string, boolean>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [spelled, inline] = splitInlineValue(arg);
    const name = longName(spelled);
    const kind = OPTIONS[name];
    if (kind === undefined) throw new UsageProblem(`unknown option ${spelled}`);
    if (kind === 'flag') {
      flags.set(name, inline === undefined ? true : parseBoolean(spelled, inline));
    } else {
      const value = inline ?? argv[i + 1];
      if (value === undefined) throw new UsageProblem(`option ${spelled} needs a value`);
      if (inline === undefined) i++;
      values.set(name, value);
      allValues.set(name, [...(allValues.get(name) ?? []), value]);
    }
  }
  return { values, allValues, flags, positionals };
}

function splitInlineValue(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function longName(spelled: string): string {
  if (spelled.startsWith('--')) return spelled.slice(2);
  const short = SHORT_OPTIONS[spelled.slice(1)];
  if (short === undefined) throw new UsageProblem(`unknown option ${spelled}`);
  return short;
}

function parseBoolean(spelled: string, value: string): boolean {
  const parsed = BOOLEAN_VALUES[value];
  if (parsed === undefined) throw new UsageProblem(`option ${spelled} takes true or false, not ${JSON.stringify(value)}`);
  return parsed;
}

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

/** Unlike the other options, every --sockfd counts: each names one more connection to serve. */
function serveTarget(args: ScannedArgs): ServeTarget {
  const sockfds = args.allValues.get('sockfd') ?? [];
  const listen = args.values.get('listen');
  if (sockfds.length > 0 && listen !== undefined) throw new UsageProblem('--sockfd and --listen cannot be used together');
  if (listen !== undefined) return { kind: 'listen', address: parseListenAddress(listen) };
  if (sockfds.length === 0) return { kind: 'stdin' };
  const fds = sockfds.map(parseFd);
  const repeated = fds.find((fd, i) => fds.indexOf(fd) !== i);
  if (repeated !== undefined) throw new UsageProblem(`--sockfd ${repeated} is given more than once`);
  return fds.length === 1 ? { kind: 'fd', fd: fds[0]! } : { kind: 'fds', fds };
}

/** `--debug` is `--log-level debug`; given together, they must agree. */
function logLevel(args: ScannedArgs): LogLevel {
  const spelled = args.values.get('log-level');
  const debug = args.flags.get('debug') === true;
  if (spelled === undefined) return debug ? 'debug' : 'info';
  const level = LOG_LEVELS.find((known) => known === spelled);
  if (level === undefined) throw new UsageProblem(`--log-level ${JSON.stringify(spelled)}: expected ${LOG_LEVELS.join(', ')}`);
  if (debug && level !== 'debug') throw new UsageProblem(`--debug and --log-level ${level} cannot be used together`);
  return level;
}

/** IMAGE is optional: without it, every request names its image with `?image=`. */
function parseImageArgument(positionals: readonly string[], context: CliContext): ImageReference | undefined {
  if (positionals.length === 0) return undefined;
  if (positionals.length > 1) throw new UsageProblem(`expected one IMAGE, got ${positionals.length}: ${positionals.join(' ')}`);
  const value = positionals[0]!;
  try {
    return parseImageAt(value, context.cwd, context.parseImage);
  } catch (err) {
    // The grammar's messages already quote the value; anything but a ProxyError is a bug, not usage.
    if (isProxyError(err)) throw new UsageProblem(err.message);
    throw err;
  }
}

/** An empty override means "not overridden", as in containers/image. */
function override(args: ScannedArgs, name: string): string | undefined {
  const value = args.values.get(name);
  return value === '' ? undefined : value;
}

/** Go-style durations as skopeo takes them (`30s`, `1m30s`, `500ms`), or plain seconds. */
export function parseDuration(spelled: string, value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = value.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_all, amount: string, unit: string) => {
    total += Number(amount) * unitMs[unit]!;
    return '';
  });
  if (value === '' || rest !== '' || total <= 0) throw new UsageProblem(`${spelled} ${JSON.stringify(value)}: expected a positive duration such as 30s, 1m30s or 500ms`);
  return total;
}

/** skopeo's credential options and their exclusions, then where files are read from. */
function credentialChoice(args: ScannedArgs, context: CliContext): CredentialChoice {
  const creds = args.values.get('creds');
  const username = args.values.get('username');
  const password = args.values.get('password');
  const token = args.values.get('registry-token');
  const noCreds = args.flags.get('no-creds') === true;
  const given = [creds !== undefined && '--creds', (username ?? password) !== undefined && '--username/--password', token !== undefined && '--registry-token', noCreds && '--no-creds'].filter(Boolean);
  if (given.length > 1) throw new UsageProblem(`${given.join(' and ')} cannot be used together`);
  if (noCreds) return { kind: 'none' };
  if (token !== undefined) return { kind: 'explicit', credentials: { registryToken: token } };
  if (creds !== undefined) {
    try {
      return { kind: 'explicit', credentials: parseCredsOption(creds) };
    } catch (err) {
      throw new UsageProblem((err as Error).message);
    }
  }
  if (username !== undefined || password !== undefined) {
    if (username === undefined || username === '') throw new UsageProblem('--password needs --username');
    return { kind: 'explicit', credentials: { username, password: password ?? '' } };
  }
  const authFile = args.values.get('authfile') ?? context.env['REGISTRY_AUTH_FILE'];
  return { kind: 'configured', authFile: authFile === undefined || authFile === '' ? undefined : resolve(context.cwd, authFile) };
}

/** The flag, else the variables the containers CLIs read (an empty value counts as unset). */
function registriesConfPath(args: ScannedArgs, context: CliContext): string | undefined {
  const path = args.values.get('registries-conf') || context.env['CONTAINERS_REGISTRIES_CONF'] || context.env['REGISTRIES_CONFIG_PATH'];
  return path ? resolve(context.cwd, path) : undefined;
}

function registryOptions(args: ScannedArgs, context: CliContext): RegistryOptions {
  const certDir = args.values.get('cert-dir');
  const connect = args.values.get('connect-timeout');
  const idle = args.values.get('idle-timeout');
  return {
    tlsVerify: args.flags.get('tls-verify'),
    certDir: certDir === undefined || certDir === '' ? undefined : resolve(context.cwd, certDir),
    registriesConf: registriesConfPath(args, context),
    credentials: credentialChoice(args, context),
    connectTimeoutMs: connect === undefined ? DEFAULT_REGISTRY_OPTIONS.connectTimeoutMs : parseDuration('--connect-timeout', connect),
    idleTimeoutMs: idle === undefined ? DEFAULT_REGISTRY_OPTIONS.idleTimeoutMs : parseDuration('--idle-timeout', idle),
    userAgentPrefix: args.values.get('user-agent-prefix') || undefined,
  };
}

/** Turns argv (without node and script) and the process context into what to run. Pure. */
export function parseCommandLine(argv: readonly string[], context: CliContext): CliCommand {
  try {
    const args = scan(argv);
    if (args.flags.get('help') === true) return { kind: 'help' };
    if (args.flags.get('version') === true) return { kind: 'version' };
    const serve = serveTarget(args);
    const image = parseImageArgument(args.positionals, context);
    const policy = args.values.get('policy');
    const registriesDir = args.values.get('registries.d');
    const proxy: ProxyOptions = {
      image,
      platform: { os: override(args, 'override-os'), architecture: override(args, 'override-arch'), variant: override(args, 'override-variant') },
      policyPath: policy === undefined || policy === '' ? undefined : resolve(context.cwd, policy),
      insecurePolicy: args.flags.get('insecure-policy') === true,
      registriesDir: registriesDir === undefined || registriesDir === '' ? undefined : resolve(context.cwd, registriesDir),
      registry: registryOptions(args, context),
      env: context.env,
      homeDir: context.homeDir,
      cwd: context.cwd,
      uid: context.uid,
    };
    return { kind: 'serve', proxy, serve, quiet: args.flags.get('quiet') === true, logLevel: logLevel(args) };
  } catch (err) {
    if (err instanceof UsageProblem) return { kind: 'usage-error', message: err.message };
    throw err;
  }
}
