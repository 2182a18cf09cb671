import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { skopeoRegistryFlags } from '../../support/registry/push.js';
import { type RunningRegistry } from '../../support/registry/registry-server.js';
import { makeSkopeoEnvironment, skopeo } from '../../support/registry/skopeo.js';

/**
 * Lookaside plumbing for the mirror, list and http(s) signature tests: registries.d files, a
 * static http server over a lookaside tree that can be told to fail one path, and skopeo's
 * verdict on the same inputs.
 */

/** Writes `DIR/test.yaml` mapping each docker namespace to its lookaside URL; returns DIR. */
export function writeRegistriesD(dir: string, lookasides: Readonly<Record<string, string>>): string {
  mkdirSync(dir, { recursive: true });
  const sections = Object.entries(lookasides).map(([namespace, url]) => `  ${namespace}:\n    lookaside: ${url}\n`);
  writeFileSync(join(dir, 'test.yaml'), `docker:\n${sections.join('')}`);
  return dir;
}

export interface LookasideServer {
  /** `http://127.0.0.1:PORT/sigs`: the lookaside base serving `root`. */
  readonly base: string;
  /** Paths requested so far, relative to the base (e.g. `/plain/app@sha256=…/signature-1`). */
  readonly requested: string[];
  /** Answers `status` (with no body) for paths ending in `suffix` until `reset`. */
  failWith(suffix: string, status: number): void;
  reset(): void;
  stop(): Promise<void>;
}

const PREFIX = '/sigs';

export async function startLookasideServer(root: string): Promise<LookasideServer> {
  const requested: string[] = [];
  let fault: { suffix: string; status: number } | undefined;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.startsWith(`${PREFIX}/`)) return void res.writeHead(404).end();
    const relative = path.slice(PREFIX.length);
    requested.push(relative);
    if (fault !== undefined && relative.endsWith(fault.suffix)) return void res.writeHead(fault.status).end();
    const file = join(root, normalize(relative));
    let size: number;
    try {
      const stats = statSync(file);
      if (!stats.isFile()) throw new Error('not a file');
      size = stats.size;
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}${PREFIX}`,
    requested,
    failWith: (suffix, status) => (fault = { suffix, status }),
    reset: () => {
      fault = undefined;
      requested.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface OracleInputs {
  readonly registry: RunningRegistry;
  readonly policy: string;
  readonly registriesDir: string;
  /** A registries.conf for skopeo (mirrors); none → an empty one. */
  readonly registriesConf?: string;
  /** Global flags before `copy`, e.g. `--override-arch arm64`. */
  readonly globalFlags?: readonly string[];
  readonly image: string;
}

export interface OracleVerdict {
  readonly accepted: boolean;
  readonly output: string;
}

/** `skopeo [globalFlags] copy IMAGE dir:…` under the policy, registries.d and registries.conf given. */
export async function skopeoVerdict(inputs: OracleInputs): Promise<OracleVerdict> {
  const dest = makeTempDir('lookaside-oracle-dest');
  const environment = makeSkopeoEnvironment();
  // skopeo 1.9.3 ignores CONTAINERS_REGISTRIES_CONF (it loads /etc/containers/registries.conf); the flag works.
  const conf = inputs.registriesConf === undefined ? [] : ['--registries-conf', inputs.registriesConf];
  try {
    await skopeo({ ...environment, policyPath: inputs.policy, registriesDir: inputs.registriesDir }, [
      ...conf,
      ...(inputs.globalFlags ?? []),
      'copy',
      '--quiet',
      ...skopeoRegistryFlags(inputs.registry, 'src'),
      inputs.image,
      `dir:${dest}`,
    ]);
    return { accepted: true, output: '' };
  } catch (err) {
    return { accepted: false, output: (err as Error).message };
  } finally {
    environment.cleanup();
    removeTempDir(dest);
  }
}
