import { resolve } from 'node:path';
import { isProxyError } from '../../domain/errors.js';
import { type ImageReference } from '../../domain/reference.js';
import { LOG_LEVELS, type LogLevel } from '../../ports/log.js';
import { daemonOptions } from './cli-daemon-args.js';
import { registryOptions } from './cli-registry-args.js';
import { type DecryptionKeySpec } from '../composition/decryption-key-files.js';
import { decryptionKeySpecs } from './decryption-key-args.js';
import { type OptionKind, scan, type ScannedArgs, UsageProblem } from './cli-scan.js';
import { headersTimeoutMs, SERVE_OPTIONS, type ServeTarget, serveTarget, TOKEN_ENV } from './cli-serve-args.js';
import { parseImageAt } from '../core/image-names.js';
import { type NamedPath } from './named-paths.js';
import { type ProxyOptions } from '../composition/options.js';

/**
 * Process exit codes: 0 after `POST /quit` (from any connection) or when every peer has closed
 * (also in the middle of an answer: a peer hanging up is not a failure); 1 when serving fails (a
 * blob that fails verification on any --sockfd connection ends the whole process, an unusable
 * fd, a listen error); 2 for a command line that cannot be run (unknown or incomplete option,
 * extra IMAGE arguments, an IMAGE that does not parse); 128 + the signal's number after SIGINT
 * (130) or SIGTERM (143), once every connection is ended, as a shell reports a process killed so.
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

export const USAGE = `Usage: container-image-proxy [OPTIONS] [IMAGE]

Serves IMAGE (transport:reference, e.g. oci:DIR:TAG, dir:DIR, docker://HOST/REPO:TAG, oci-archive:FILE,
docker-archive:FILE, docker-daemon:NAME:TAG or docker-daemon:sha256:IMAGE-ID,
containers-storage:[[DRIVER@]GRAPHROOT[+RUNROOT][:OPTIONS]]NAME[:TAG|@DIGEST][@ID] or
containers-storage:IMAGE-ID) over HTTP/1.1 on a socket inherited from the parent process.
Requests may name other images with ?image=TRANSPORT:REFERENCE; without IMAGE, they must.

Options:
      --sockfd N               serve on the connected socket at file descriptor N; repeat it
                               to serve several connections concurrently, sharing one cache
                               (default: standard input, when it is a socket)
      --listen ADDR            accept connections on HOST:PORT or unix:PATH instead. Whoever
                               connects acts with this host's registry credentials and reads
                               its files: unix:PATH is made for its owner only (mode 0600); a
                               loopback HOST (127.0.0.0/8, ::1, localhost) is open to every
                               local user; other HOSTs need --unsafe-expose-to-network
      --unsafe-expose-to-network
                               allow --listen beyond loopback, where anyone who can reach it
                               may use the proxy: a token is then required
      --listen-token-file FILE require "Authorization: Bearer TOKEN" on every request, TOKEN
                               being FILE's content (default: $${TOKEN_ENV})
      --override-os OS         use OS instead of the running OS when choosing from a list
      --override-arch ARCH     use ARCH instead of the running architecture
      --override-variant VAR   use VAR instead of the running architecture variant
      --policy FILE            signature policy file (default: the containers policy.json search)
      --insecure-policy        accept any image without reading a signature policy
      --registries.d DIR       where to find signature storage configuration (default: the containers search)
      --decryption-key KEY[:PASSWORD]
                               open encrypted layers with this private key (PEM, DER or JWK),
                               X.509 certificate or OpenPGP secret key; repeatable. PASSWORD is
                               pass=P, file=FILE, fd=N or the password itself

Docker engine options (docker-daemon:):
      --daemon-host HOST       the engine at HOST: unix://PATH, tcp://HOST:PORT (TLS, as in
                               skopeo), http://HOST:PORT or https://HOST:PORT (default:
                               $DOCKER_HOST, where tcp:// is TLS only with $DOCKER_TLS_VERIFY
                               or $DOCKER_TLS, the engine verified either way;
                               else unix:///var/run/docker.sock). TLS files: ca.pem, cert.pem,
                               key.pem in $DOCKER_CERT_PATH (default ~/.docker)

Registry options (docker://):
      --authfile FILE          read credentials from FILE only (default: $REGISTRY_AUTH_FILE, else
                               the containers auth.json search)
      --creds USER:PASS        use these credentials
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
      --retry-times N          retry a registry request that failed for a passing reason
                               (connection refused or reset, timeout, 429, 5xx) N times (default 3)
      --retry-delay DUR        wait DUR before the first retry, doubling each time (default 1s;
                               a registry's Retry-After is honoured instead)
      --max-parallel-per-blob N
                               fetch a large blob over up to N connections at once, as many
                               as measurably pay (default 16; 1: one stream)
      --blob-chunk-size SIZE   bytes per ranged request of a blob fetched in parallel
                               (default 4MiB; from 64KiB)


  -q, --quiet                  do not report request errors on standard error
      --log-level LEVEL        error (request errors), warn (the default: also retries and failed
                               pull sources), info (also the source, authentication and policy
                               decision of each image) or debug (all of it as JSON lines, plus one
                               per client request and per registry request)
      --debug                  the same as --log-level debug
  -v, --version                print the version and exit
  -h, --help                   print this help and exit
`;

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | {
      readonly kind: 'serve';
      readonly proxy: ProxyOptions;
      readonly serve: ServeTarget;
      readonly quiet: boolean;
      readonly logLevel: LogLevel;
      /** Only tests change it (see HEADERS_TIMEOUT_ENV); undefined is the server's default. */
      readonly headersTimeoutMs: number | undefined;
      /** Files and directories the command line names, checked before anything is served. */
      readonly namedPaths: readonly NamedPath[];
      /** `--decryption-key` files, read and parsed before anything is served. */
      readonly decryptionKeys: readonly DecryptionKeySpec[];
    };

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir: string;
  /** Owner of the per-user runtime auth file; the process's uid. */
  readonly uid?: number | undefined;
  /** The image-name grammar; replaceable so argv handling is testable on its own. */
  readonly parseImage?: (value: string) => ImageReference;
}

const OPTIONS: Readonly<Record<string, OptionKind>> = {
  ...SERVE_OPTIONS,
  'override-os': 'value',
  'override-arch': 'value',
  'override-variant': 'value',
  policy: 'value',
  'insecure-policy': 'flag',
  'registries.d': 'value',
  'decryption-key': 'value',
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
  'retry-times': 'value',
  'retry-delay': 'value',
  'daemon-host': 'value',
  'max-parallel-per-blob': 'value',
  'blob-chunk-size': 'value',
  quiet: 'flag',
  'log-level': 'value',
  debug: 'flag',
  version: 'flag',
  help: 'flag',
};
const SHORT_OPTIONS: Readonly<Record<string, string>> = { q: 'quiet', h: 'help', v: 'version' };

/** `--debug` is `--log-level debug`; given together, they must agree. `warn` is podman's default too. */
function logLevel(args: ScannedArgs): LogLevel {
  const spelled = args.values.get('log-level');
  const debug = args.flags.get('debug') === true;
  if (spelled === undefined) return debug ? 'debug' : 'warn';
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

/** Options naming a file or directory that must exist, like `--policy`; an empty value names none. */
const PATH_OPTIONS: readonly (readonly [string, NamedPath['kind']])[] = [
  ['registries-conf', 'file'],
  ['authfile', 'file'],
  ['cert-dir', 'directory'],
  ['registries.d', 'directory'],
];

function namedPaths(args: ScannedArgs, cwd: string): NamedPath[] {
  return PATH_OPTIONS.flatMap(([name, kind]) => {
    const value = args.values.get(name);
    return value === undefined || value === '' ? [] : [{ option: `--${name}`, path: resolve(cwd, value), kind }];
  });
}

/** An empty override means "not overridden", as in containers/image. */
function override(args: ScannedArgs, name: string): string | undefined {
  const value = args.values.get(name);
  return value === '' ? undefined : value;
}

/** Turns argv (without node and script) and the process context into what to run. Pure. */
export function parseCommandLine(argv: readonly string[], context: CliContext): CliCommand {
  try {
    const args = scan(argv, { long: OPTIONS, short: SHORT_OPTIONS });
    if (args.flags.get('help') === true) return { kind: 'help' };
    if (args.flags.get('version') === true) return { kind: 'version' };
    const serve = serveTarget(args, context.env, (path) => resolve(context.cwd, path));
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
      daemon: daemonOptions(args, context),
      env: context.env,
      homeDir: context.homeDir,
      cwd: context.cwd,
      uid: context.uid,
    };
    return {
      kind: 'serve',
      proxy,
      serve,
      quiet: args.flags.get('quiet') === true,
      logLevel: logLevel(args),
      headersTimeoutMs: headersTimeoutMs(context.env),
      namedPaths: namedPaths(args, context.cwd),
      decryptionKeys: decryptionKeySpecs(args.allValues.get('decryption-key') ?? [], context.cwd),
    };
  } catch (err) {
    if (err instanceof UsageProblem) return { kind: 'usage-error', message: err.message };
    throw err;
  }
}
