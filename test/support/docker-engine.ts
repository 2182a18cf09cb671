/**
 * Real Docker Engine APIs for the docker-daemon: tests: podman's (`podman system service`) over
 * a store of its own, and Debian's `dockerd` with its own data and exec roots, each on a unix
 * socket in a temp dir (podman also on tcp://127.0.0.1:PORT). Images are built with buildah
 * into the podman store (no container runtime needed) and loaded into dockerd from podman's
 * export. A TLS front (a test CA from openssl) stands in for an engine that speaks TLS, which
 * podman's service cannot.
 */
import { createReadStream, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { expect } from 'chai';
import { type TestPki } from './registry/certs.js';
import { lastLines, run, spawnDaemon, type DaemonHandle } from './registry/processes.js';
import { type ProxyProcess } from './spawn-proxy.js';

const START_TIMEOUT_MS = 30_000;
/** Where Debian's docker.io puts it (install.ts checks the same path). */
const DOCKERD = '/usr/sbin/dockerd';

/** A podman/buildah store of its own: `args` go before every podman or buildah subcommand. */
export interface EngineStore {
  readonly dir: string;
  readonly args: readonly string[];
}

export function makeEngineStore(dir: string): EngineStore {
  for (const part of ['root', 'runroot', 'tmp']) mkdirSync(join(dir, part), { recursive: true });
  return { dir, args: ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'] };
}

export interface BuiltImage {
  /** `localhost/…:TAG`, as podman and docker list it. */
  readonly name: string;
  /** `sha256:` and the image ID (the config's digest). */
  readonly id: string;
}

/**
 * `buildah from`, `copy` and `commit`: a first layer from scratch, then a second on top of it
 * with a label, so the image has two layers and a parent.
 */
export async function buildTwoLayerImage(store: EngineStore, name: string): Promise<BuiltImage> {
  const files = join(store.dir, 'files');
  mkdirSync(join(files, 'etc'), { recursive: true });
  writeFileSync(join(files, 'etc', 'greeting'), 'hello from a Docker engine\n');
  writeFileSync(join(files, 'data.bin'), Buffer.alloc(300_000, 7));
  const buildah = (...args: string[]) => run('buildah', [...store.args, ...args]);
  const base = (await buildah('from', 'scratch')).stdout.trim();
  await buildah('copy', base, join(files, 'etc'), '/etc');
  await buildah('commit', '--quiet', base, `${name}-base`);
  const top = (await buildah('from', `${name}-base`)).stdout.trim();
  await buildah('copy', top, join(files, 'data.bin'), '/srv/data.bin');
  await buildah('config', '--label', 'org.example.test=docker-daemon', '--env', 'GREETING=hello', top);
  const id = (await buildah('commit', '--quiet', top, name)).stdout.trim();
  await buildah('rm', '--all');
  return { name, id: `sha256:${id}` };
}

export interface RunningEngine {
  /** What --daemon-host and $DOCKER_HOST take: `unix:///…` or `tcp://127.0.0.1:PORT`. */
  readonly host: string;
  /** The unix socket, for engines that listen on one. */
  readonly socketPath: string | undefined;
  log(): string;
  stop(): Promise<void>;
}

/** `podman system service --time=0 HOST` over `store`, once `GET /_ping` answers. */
export async function startPodmanService(store: EngineStore, host: string, label: string): Promise<RunningEngine> {
  const daemon = spawnDaemon('podman', [...store.args, '--tmpdir', join(store.dir, 'tmp'), 'system', 'service', '--time=0', host], {
    logPath: join(store.dir, `podman-${label}.log`),
  });
  return waitForEngine(daemon, host, 'podman system service');
}

/** Debian's dockerd with its data, exec root, socket and (empty) configuration in `dir`; vfs, no networking. */
export async function startDockerd(dir: string): Promise<RunningEngine> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'daemon.json');
  writeFileSync(config, '{}\n');
  const host = `unix://${join(dir, 'docker.sock')}`;
  const daemon = spawnDaemon(
    DOCKERD,
    [
      '--config-file',
      config,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      host,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
      '--log-level=warn',
    ],
    { logPath: join(dir, 'dockerd.log') },
  );
  return waitForEngine(daemon, host, 'dockerd');
}

async function waitForEngine(daemon: DaemonHandle, host: string, what: string): Promise<RunningEngine> {
  const socketPath = host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
  const engine: RunningEngine = { host, socketPath, log: () => daemon.log(), stop: () => daemon.stop() };
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) break;
    try {
      const answer = await engineRequest(engine, 'GET', '/_ping');
      if (answer.status === 200) return engine;
      lastError = `HTTP ${answer.status}`;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await daemon.stop();
  throw new Error(`${what} did not answer ${host}/_ping (last error: ${String(lastError)}):\n${lastLines(daemon.log())}`);
}

export interface EngineAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** One plain request to an engine; `upload` is a file sent as the body (POST /images/load). */
export function engineRequest(engine: RunningEngine, method: string, path: string, upload?: string): Promise<EngineAnswer> {
  const target = engine.socketPath !== undefined ? { socketPath: engine.socketPath } : tcpTarget(engine.host);
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, method, path, agent: false, headers: upload === undefined ? {} : { 'Content-Type': 'application/x-tar' }, timeout: 60_000 },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    if (upload === undefined) req.end();
    else createReadStream(upload).pipe(req);
  });
}

function tcpTarget(host: string): { host: string; port: number } {
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port) };
}

/** Copies an image from one engine to another: the first one's export, loaded into the second. */
export async function copyBetweenEngines(from: RunningEngine, to: RunningEngine, name: string, scratch: string): Promise<void> {
  const exported = await engineRequest(from, 'GET', `/images/${name}/get`);
  if (exported.status !== 200) throw new Error(`exporting ${name}: HTTP ${exported.status}: ${exported.body.toString().slice(0, 300)}`);
  writeFileSync(scratch, exported.body);
  const loaded = await engineRequest(to, 'POST', '/images/load', scratch);
  if (loaded.status !== 200 || !loaded.body.toString().includes('Loaded image')) {
    throw new Error(`loading ${name}: HTTP ${loaded.status}: ${loaded.body.toString().slice(0, 300)}`);
  }
}

/**
 * A TLS front for an engine on a unix socket, on 127.0.0.1: it presents `pki`'s certificate
 * and, when `requireClientCertificate`, accepts only clients with a certificate from the same CA
 * (the leaf is valid for both ends), as `dockerd --tlsverify` does.
 */
export async function startTlsFront(
  pki: TestPki,
  socketPath: string,
  requireClientCertificate: boolean,
): Promise<{ readonly host: string; stop(): Promise<void> }> {
  const server: Server = createTlsServer(
    { cert: pki.certPem, key: pki.keyPem, ca: pki.caPem, requestCert: requireClientCertificate, rejectUnauthorized: requireClientCertificate },
    (tlsSocket) => {
      const upstream = netConnect(socketPath);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      tlsSocket.on('error', () => upstream.destroy());
      upstream.on('error', () => tlsSocket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  const open = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the TLS front has no address');
  return {
    host: `tcp://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The proxy's temporary exports in a $TMPDIR (Node's compile cache lives there too). */
export function exportsIn(tmp: string): string[] {
  return readdirSync(tmp).filter((name) => name.startsWith('container-image-proxy-export'));
}

/** Ends the proxies as a parent ends the sessions it no longer needs (SIGTERM): what they leave must go with them. */
export async function endSessionsLeavingNoExport(started: ProxyProcess[], tmp: string): Promise<void> {
  await Promise.all(
    started.splice(0).map(async (proxy) => {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }),
  );
  expect(exportsIn(tmp), 'no export is left in $TMPDIR').to.deep.equal([]);
}
