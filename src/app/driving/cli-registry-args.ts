import { resolve } from 'node:path';
import { parseCredsOption } from '../composition/option-vocabulary.js';
import { type ScannedArgs, UsageProblem } from './cli-scan.js';
import { type CredentialChoice, DEFAULT_REGISTRY_OPTIONS, type RegistryOptions } from '../composition/options.js';

/** The registry options of the command line: credentials, TLS, timeouts, configuration files. */

/** What these options are resolved against. */
interface Surroundings {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
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
  if (value === '' || rest !== '' || total <= 0)
    throw new UsageProblem(`${spelled} ${JSON.stringify(value)}: expected a positive duration such as 30s, 1m30s or 500ms`);
  return total;
}

/** skopeo's credential options and their exclusions, then where files are read from. */
function credentialChoice(args: ScannedArgs, context: Surroundings): CredentialChoice {
  const creds = args.values.get('creds');
  const username = args.values.get('username');
  const password = args.values.get('password');
  const token = args.values.get('registry-token');
  const noCreds = args.flags.get('no-creds') === true;
  const given = [
    creds !== undefined && '--creds',
    (username ?? password) !== undefined && '--username/--password',
    token !== undefined && '--registry-token',
    noCreds && '--no-creds',
  ].filter(Boolean);
  if (given.length > 1) throw new UsageProblem(`${given.join(' and ')} cannot be used together`);
  if (noCreds) return { kind: 'none' };
  if (token !== undefined) return { kind: 'explicit', credentials: { registryToken: token, source: '--registry-token' } };
  if (creds !== undefined) {
    try {
      return { kind: 'explicit', credentials: { ...parseCredsOption(creds), source: '--creds' } };
    } catch (err) {
      throw new UsageProblem((err as Error).message);
    }
  }
  if (username !== undefined || password !== undefined) {
    if (username === undefined || username === '') throw new UsageProblem('--password needs --username');
    // skopeo would prompt for it; a sidecar has no terminal, and an empty password is never meant.
    if (password === undefined) throw new UsageProblem('--username needs --password');
    return { kind: 'explicit', credentials: { username, password, source: '--username/--password' } };
  }
  const authFile = args.values.get('authfile') ?? context.env['REGISTRY_AUTH_FILE'];
  return { kind: 'configured', authFile: authFile === undefined || authFile === '' ? undefined : resolve(context.cwd, authFile) };
}

/** The flag, else the variables the containers CLIs read (an empty value counts as unset). */
function registriesConfPath(args: ScannedArgs, context: Surroundings): string | undefined {
  const path = args.values.get('registries-conf') || context.env['CONTAINERS_REGISTRIES_CONF'] || context.env['REGISTRIES_CONFIG_PATH'];
  return path ? resolve(context.cwd, path) : undefined;
}

/** `--retry-times N`: how many times a transient failure is retried (0: never). */
function parseRetryTimes(value: string | undefined): number {
  if (value === undefined) return DEFAULT_REGISTRY_OPTIONS.retryTimes;
  if (!/^\d{1,3}$/.test(value)) throw new UsageProblem(`--retry-times ${JSON.stringify(value)}: expected a number of retries from 0 to 999`);
  return Number(value);
}

/** `--max-parallel-per-blob N`: 1 (one stream) to 64 connections. */
function parseMaxParallel(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > 64) {
    throw new UsageProblem(`--max-parallel-per-blob ${JSON.stringify(value)}: expected a number of connections from 1 to 64`);
  }
  return Number(value);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--blob-chunk-size SIZE`: bytes, or with a unit (`512KiB`, `8MiB`, `8m`); from 64 KiB to 1 GiB. */
export function parseChunkSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(?:([kmg])(?:i?b)?)?$/i.exec(value.trim());
  const bytes = match === null ? Number.NaN : Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!;
  if (!(bytes >= 64 * 1024 && bytes <= 1024 ** 3)) {
    throw new UsageProblem(`--blob-chunk-size ${JSON.stringify(value)}: expected a size from 64KiB to 1GiB, such as 8MiB`);
  }
  return bytes;
}

export function registryOptions(args: ScannedArgs, context: Surroundings): RegistryOptions {
  const certDir = args.values.get('cert-dir');
  const connect = args.values.get('connect-timeout');
  const idle = args.values.get('idle-timeout');
  const retryDelay = args.values.get('retry-delay');
  return {
    tlsVerify: args.flags.get('tls-verify'),
    certDir: certDir === undefined || certDir === '' ? undefined : resolve(context.cwd, certDir),
    registriesConf: registriesConfPath(args, context),
    credentials: credentialChoice(args, context),
    connectTimeoutMs: connect === undefined ? DEFAULT_REGISTRY_OPTIONS.connectTimeoutMs : parseDuration('--connect-timeout', connect),
    idleTimeoutMs: idle === undefined ? DEFAULT_REGISTRY_OPTIONS.idleTimeoutMs : parseDuration('--idle-timeout', idle),
    userAgentPrefix: args.values.get('user-agent-prefix') || undefined,
    retryTimes: parseRetryTimes(args.values.get('retry-times')),
    retryDelayMs: retryDelay === undefined ? DEFAULT_REGISTRY_OPTIONS.retryDelayMs : parseDuration('--retry-delay', retryDelay),
    maxParallelPerBlob: parseMaxParallel(args.values.get('max-parallel-per-blob')),
    blobChunkSize: parseChunkSize(args.values.get('blob-chunk-size')),
  };
}
