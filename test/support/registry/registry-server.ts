import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { makeTestPki, type TestPki } from './certs.js';
import { freePort, lastLines, makeTempDir, removeTempDir, run, spawnDaemon, type DaemonHandle } from './processes.js';
import { startTokenIssuer, type TestUser, type TokenIssuer, type TokenIssuerOptions } from './token-issuer.js';

/**
 * Real CNCF distribution registries (`docker-registry serve`) on free 127.0.0.1 ports, one
 * temp dir each (config, storage, certificates, log). TLS combines with every kind of auth.
 */

export type { TestUser } from './token-issuer.js';

interface VariantBase {
  /** Serve https with a certificate for 127.0.0.1 and localhost signed by a test CA. */
  readonly tls?: boolean;
}

export type RegistryVariant =
  | (VariantBase & { readonly kind: 'anonymous' })
  /** Shorthand for an anonymous registry over TLS. */
  | { readonly kind: 'tls' }
  | (VariantBase & { readonly kind: 'htpasswd'; readonly users: readonly TestUser[] })
  | (VariantBase & {
      readonly kind: 'token';
      /** Users the token realm accepts (default: one `tester`). */
      readonly users?: readonly TestUser[];
      readonly issuer?: Omit<TokenIssuerOptions, 'dir' | 'users' | 'tls'>;
    })
  /** A read-only pull-through cache of another registry: usable as a mirror. */
  | (VariantBase & { readonly kind: 'proxy'; readonly remoteurl: string; readonly username?: string; readonly password?: string });

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as it goes into image references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` or `https://…`. */
  readonly url: string;
  readonly tls: boolean;
  /** The test CA (TLS only), as PEM text and as a file. */
  readonly caPem?: string;
  readonly caPath?: string;
  /** A directory for `--cert-dir` / `--dest-cert-dir`: holds `ca.crt` (TLS only). */
  readonly certDir?: string;
  /** A `certs.d` root: `<certsD>/127.0.0.1:PORT/ca.crt` (TLS only). */
  readonly certsD?: string;
  /** Credentials that may push (htpasswd and token registries). */
  readonly pushCredentials?: TestUser;
  readonly tokenIssuer?: TokenIssuer;
  /** The registry's own log so far. */
  log(): string;
  stop(): Promise<void>;
}

const DEFAULT_TOKEN_USERS: readonly TestUser[] = [{ user: 'tester', pass: 'tester-password' }];
const START_TIMEOUT_MS = 15_000;

export async function startRegistry(variant: RegistryVariant): Promise<RunningRegistry> {
  const dir = makeTempDir('test-registry');
  const cleanups: (() => Promise<void>)[] = [async () => removeTempDir(dir)];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const tls = variant.kind === 'tls' || variant.tls === true;
    const pki = tls ? await makeTestPki(join(dir, 'tls'), '127.0.0.1', ['IP:127.0.0.1', 'DNS:localhost']) : undefined;
    const { auth, pushCredentials, tokenIssuer } = await authSection(variant, dir, pki);
    if (tokenIssuer) cleanups.push(() => tokenIssuer.stop());

    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const url = `${tls ? 'https' : 'http'}://${host}`;
      const configPath = join(dir, `config-${port}.yml`);
      writeFileSync(configPath, JSON.stringify(registryConfig(variant, dir, host, pki, auth), null, 2));
      const daemon = spawnDaemon('docker-registry', ['serve', configPath], { logPath: join(dir, `registry-${port}.log`) });
      try {
        await waitUntilServing(url, daemon, pki?.caPem);
      } catch (error) {
        await daemon.stop();
        lastError = error;
        if (/address already in use/.test(daemon.log())) continue;
        throw error;
      }
      cleanups.push(() => daemon.stop());
      return {
        host,
        url,
        tls,
        ...(pki && certificateLayout(dir, host, pki)),
        ...(pushCredentials && { pushCredentials }),
        ...(tokenIssuer && { tokenIssuer }),
        log: () => daemon.log(),
        stop: stopAll,
      };
    }
    throw lastError;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function authSection(
  variant: RegistryVariant,
  dir: string,
  pki: TestPki | undefined,
): Promise<{ auth?: object; pushCredentials?: TestUser; tokenIssuer?: TokenIssuer }> {
  switch (variant.kind) {
    case 'htpasswd': {
      const lines: string[] = [];
      for (const { user, pass } of variant.users) {
        lines.push((await run('htpasswd', ['-Bbn', user, pass])).stdout.trim());
      }
      const path = join(dir, 'htpasswd');
      writeFileSync(path, `${lines.join('\n')}\n`);
      const pushCredentials = variant.users[0];
      return { auth: { htpasswd: { realm: 'test-registry', path } }, ...(pushCredentials && { pushCredentials }) };
    }
    case 'token': {
      const users = variant.users ?? DEFAULT_TOKEN_USERS;
      const tokenIssuer = await startTokenIssuer({ ...variant.issuer, dir, users, ...(pki && { tls: { certPem: pki.certPem, keyPem: pki.keyPem } }) });
      const auth = {
        token: { realm: tokenIssuer.realm, service: tokenIssuer.service, issuer: tokenIssuer.issuer, rootcertbundle: tokenIssuer.rootCertBundlePath },
      };
      const pushCredentials = users[0];
      return { auth, tokenIssuer, ...(pushCredentials && { pushCredentials }) };
    }
    default:
      return {};
  }
}

/** docker-registry reads YAML; JSON is YAML, so the config is written as JSON. */
function registryConfig(variant: RegistryVariant, dir: string, host: string, pki: TestPki | undefined, auth: object | undefined): object {
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  return {
    version: '0.1',
    log: { level: 'info', accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: {
      addr: host,
      secret: 'container-image-proxy-tests',
      ...(pki && { tls: { certificate: pki.certPath, key: pki.keyPath } }),
    },
    // docker-registry 2.8 refuses foreign-layer URLs unless allowed; tests push such manifests.
    validation: { manifests: { urls: { allow: ['^https?://'] } } },
    ...(auth && { auth }),
    ...(variant.kind === 'proxy' && {
      proxy: { remoteurl: variant.remoteurl, ...(variant.username !== undefined && { username: variant.username, password: variant.password ?? '' }) },
    }),
  };
}

function certificateLayout(dir: string, host: string, pki: TestPki): Pick<RunningRegistry, 'caPem' | 'caPath' | 'certDir' | 'certsD'> {
  const certDir = join(dir, 'cert-dir');
  const certsD = join(dir, 'certs.d');
  const hostDir = join(certsD, host);
  mkdirSync(certDir, { recursive: true });
  mkdirSync(hostDir, { recursive: true });
  writeFileSync(join(certDir, 'ca.crt'), pki.caPem);
  writeFileSync(join(hostDir, 'ca.crt'), pki.caPem);
  return { caPem: pki.caPem, caPath: pki.caPath, certDir, certsD };
}

/** Polls `GET /v2/` until the registry answers anything at all (200, or 401 with auth). */
async function waitUntilServing(url: string, daemon: DaemonHandle, caPem: string | undefined): Promise<void> {
  const dispatcher = new Agent({ connect: caPem === undefined ? {} : { ca: caPem }, connectTimeout: 1000 });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
        throw new Error(`docker-registry exited (${daemon.child.exitCode ?? daemon.child.signalCode}) before serving ${url}:\n${lastLines(daemon.log())}`);
      }
      try {
        const response = await request(`${url}/v2/`, { dispatcher, signal: AbortSignal.timeout(1000) });
        await response.body.dump();
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`docker-registry did not answer ${url}/v2/ within ${START_TIMEOUT_MS} ms (last error: ${String(lastError)}):\n${lastLines(daemon.log())}`);
  } finally {
    await dispatcher.close();
  }
}
