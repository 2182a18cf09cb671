import { isAbsolute, join, resolve } from 'node:path';
import { type ScannedArgs, UsageProblem } from './cli-scan.js';
import { type EngineEndpoint } from '../composition/option-vocabulary.js';
import { DEFAULT_DAEMON_OPTIONS, DEFAULT_DAEMON_SOCKET, type DaemonOptions } from '../composition/options.js';

/**
 * Where the Docker engine of docker-daemon: images is: `--daemon-host` (skopeo's option, read
 * as containers/image reads it), else `$DOCKER_HOST` (read as the docker CLI reads it), else
 * Docker's default socket. The two spellings differ in one place, as their origins do: a
 * `tcp://` host is always TLS for containers/image, and TLS only with `$DOCKER_TLS_VERIFY` or
 * `$DOCKER_TLS` for the docker CLI. Either way the TLS files are Docker's: `$DOCKER_CERT_PATH`, else `~/.docker`.
 */

const PLAIN_PORT = 2375;
const TLS_PORT = 2376;
const SCHEMES = 'unix://PATH, tcp://HOST[:PORT], http://HOST[:PORT] or https://HOST[:PORT]';
const HOST_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::([1-9][0-9]{0,4}))?\/?$/;

interface Surroundings {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir: string;
}

/** Schemes Docker knows that the proxy cannot speak, and what to do instead. */
const UNREACHABLE_SCHEMES: Readonly<Record<string, string>> = {
  ssh: 'the docker CLI reaches an engine over ssh by running ssh, which the proxy does not; forward its socket (ssh -nNT -L /tmp/engine.sock:/var/run/docker.sock USER@HOST) and name unix:///tmp/engine.sock',
  npipe: 'a Windows named pipe, which does not exist on Linux',
  fd: 'where dockerd itself listens (socket activation), not an address a client can reach',
};

/**
 * The host as written, for messages: a password in it (`tcp://user:PASSWORD@host`, which no
 * engine address has but a careless one may) shows as `xxxxx`, as Go's URL.Redacted does.
 */
function quoted(spelled: string): string {
  return JSON.stringify(spelled.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*):[^/]*@/, '$1:xxxxx@'));
}

/** Parses an engine host; `tcpIsTls` is what a `tcp://` host means where it was written. */
export function parseEngineHost(spelled: string, where: string, tcpIsTls: boolean, certDir: string, cwd: string): EngineEndpoint | string {
  const description = `${spelled} (${where})`;
  const separator = spelled.indexOf('://');
  const scheme = separator === -1 ? '' : spelled.slice(0, separator).toLowerCase();
  const rest = separator === -1 ? spelled : spelled.slice(separator + 3);
  if (scheme === 'unix') {
    const path = rest === '' ? DEFAULT_DAEMON_SOCKET : rest;
    return { kind: 'unix', path: isAbsolute(path) ? path : resolve(cwd, path), description };
  }
  const unreachable = UNREACHABLE_SCHEMES[scheme];
  if (unreachable !== undefined)
    return `${where} ${quoted(spelled)}: ${scheme}:// is ${scheme === 'ssh' ? 'not supported: ' : ''}${unreachable}; expected ${SCHEMES}`;
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    return `${where} ${quoted(spelled)}: expected ${SCHEMES}`;
  }
  const match = HOST_PATTERN.exec(rest);
  if (match === null) {
    const hostPart = quoted(spelled).slice(separator + 4, -1);
    return `${where} ${quoted(spelled)}: "${hostPart}" is not HOST[:PORT] (a name, an IPv4 address or a bracketed IPv6 address, then a port from 1 to 65535, and no path)`;
  }
  const [, ipv6, name, portText] = match;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && port > 65535) return `${where} ${quoted(spelled)}: port ${port} is out of range`;
  const tls = scheme === 'https' || (scheme === 'tcp' && tcpIsTls);
  return { kind: 'tcp', host: ipv6 ?? name!, port: port ?? (tls ? TLS_PORT : PLAIN_PORT), tls: tls ? { certDir } : undefined, description };
}

/** Docker's variables count as set when not empty (`DOCKER_TLS_VERIFY=0` turns verification on, as in docker). */
function setting(env: Surroundings['env'], name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function daemonOptions(args: ScannedArgs, context: Surroundings): DaemonOptions {
  const certPath = setting(context.env, 'DOCKER_CERT_PATH');
  const certDir = certPath === undefined ? join(context.homeDir, '.docker') : resolve(context.cwd, certPath);
  const option = args.values.get('daemon-host');
  if (option !== undefined && option !== '') {
    const endpoint = parseEngineHost(option, '--daemon-host', true, certDir, context.cwd);
    if (typeof endpoint === 'string') throw new UsageProblem(endpoint);
    return { endpoint };
  }
  const variable = setting(context.env, 'DOCKER_HOST');
  if (variable !== undefined) {
    // `$DOCKER_TLS` turns TLS on in the docker CLI without verifying the engine; here the engine is
    // verified either way, since an export is trusted as the image.
    const tls = setting(context.env, 'DOCKER_TLS_VERIFY') !== undefined || setting(context.env, 'DOCKER_TLS') !== undefined;
    const endpoint = parseEngineHost(variable, '$DOCKER_HOST', tls, certDir, context.cwd);
    return { endpoint: typeof endpoint === 'string' ? { kind: 'invalid', problem: endpoint } : endpoint };
  }
  return DEFAULT_DAEMON_OPTIONS;
}
