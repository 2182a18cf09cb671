import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type Socket } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { ImageProxy } from '../src/client/index.js';
import { RawPusher } from '../test/support/registry/push.js';
import { run } from '../test/support/registry/processes.js';
import { type RunningRegistry } from '../test/support/registry/registry-server.js';
import { randomBytes } from './image.js';
import { RawHttpConnection } from './lean-client.js';
import { median, type Paths } from './measure.js';

/**
 * A decompressed layer through the proxy (both digests verified) against
 * `curl | gzip -dc | sha256sum`, and the aggregate throughput of several connections to one
 * proxy (`--sockfd` repeated) against one connection fetching the same layers in turn.
 */

const MIB = 1024 * 1024;
const rate = (bytes: number, ms: number): number => bytes / MIB / (ms / 1000);
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface GzipLayerImage {
  readonly reference: string;
  readonly digest: string;
  readonly diffID: string;
  /** Uncompressed size: the rates below count uncompressed bytes, what a client extracts. */
  readonly uncompressedSize: number;
  readonly url: string;
}

/** One gzip layer of base64 text (compresses about 4:3, like binaries and text mixed). */
export async function pushGzipImage(registry: RunningRegistry, repository: string, uncompressedSize: number): Promise<GzipLayerImage> {
  const tar = Buffer.from(randomBytes((uncompressedSize / 4) * 3).toString('base64'), 'latin1');
  const gz = gzipSync(tar, { level: 6 });
  const diffID = sha256(tar);
  const pusher = new RawPusher(registry);
  try {
    const digest = await pusher.pushBlob(repository, gz);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffID] } }));
    const configDigest = await pusher.pushBlob(repository, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: gz.length }],
      }),
    );
    await pusher.pushManifest(repository, 'latest', manifest, 'application/vnd.oci.image.manifest.v1+json');
    return {
      reference: `docker://${registry.host}/${repository}:latest`,
      digest,
      diffID,
      uncompressedSize: tar.length,
      url: `${registry.url}/v2/${repository}/blobs/${digest}`,
    };
  } finally {
    await pusher.close();
  }
}

/** (d) `GET /blobs/<d>?decompress=true` read to the end through the TypeScript client. */
export async function proxyDecompressed(paths: Paths, proxyArgs: readonly string[], image: GzipLayerImage, runs: number): Promise<number> {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  const proxy = await ImageProxy.spawn({ command: [paths.cli], args: [...proxyArgs], image: image.reference, env, stderr: 'inherit' });
  try {
    await proxy.manifest();
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      let bytes = 0;
      for await (const chunk of await proxy.decompressedLayer(image.digest)) bytes += (chunk as Buffer).length;
      if (bytes !== image.uncompressedSize) throw new Error(`decompressed layer: ${bytes} bytes, expected ${image.uncompressedSize}`);
      rates.push(rate(bytes, performance.now() - started));
    }
    return median(rates);
  } finally {
    await proxy.quit();
  }
}

/** (e) `curl URL | gzip -dc | sha256sum`, the diff ID checked. */
export async function pipelineDecompressed(image: GzipLayerImage, runs: number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { stdout } = await run('bash', ['-o', 'pipefail', '-c', 'curl -sf "$1" | gzip -dc | sha256sum', 'bash', image.url], { timeoutMs: 600_000 });
    const ms = performance.now() - started;
    if (`sha256:${stdout.split(' ')[0]}` !== image.diffID) throw new Error(`curl | gzip -dc | sha256sum gave ${stdout.trim()}, expected ${image.diffID}`);
    rates.push(rate(image.uncompressedSize, ms));
  }
  return median(rates);
}

/** The bin with `connections` sockets handed over (`--sockfd 3 --sockfd 4 …`). */
function spawnWithSockets(cli: string, args: readonly string[], connections: number): { child: ChildProcess; http: RawHttpConnection[] } {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  const fds = Array.from({ length: connections }, (_, i) => 3 + i);
  const child = spawn(cli, [...fds.flatMap((fd) => ['--sockfd', String(fd)]), ...args], {
    env,
    stdio: ['ignore', 'ignore', 'inherit', ...fds.map(() => 'pipe' as const)],
  });
  return { child, http: fds.map((fd) => new RawHttpConnection(child.stdio[fd] as Socket)) };
}

/**
 * (f) aggregate MiB/s for `layers.length` blobs: over `connections` sockets at once (layer i on
 * socket i mod connections), including the time of the slowest.
 */
export async function parallelBlobs(
  paths: Paths,
  proxyArgs: readonly string[],
  layers: readonly { digest: string; size: number }[],
  connections: number,
  runs: number,
): Promise<number> {
  const proxy = spawnWithSockets(paths.cli, proxyArgs, connections);
  const exited = new Promise<void>((resolve) => proxy.child.once('exit', () => resolve()));
  try {
    await proxy.http[0]!.request('GET', '/manifest');
    const total = layers.reduce((sum, layer) => sum + layer.size, 0);
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await Promise.all(
        proxy.http.map(async (http, c) => {
          for (let l = c; l < layers.length; l += connections) {
            const answer = await http.request('GET', `/blobs/${layers[l]!.digest}`);
            if (answer.status !== 200 || answer.bytes !== layers[l]!.size)
              throw new Error(`GET /blobs/${layers[l]!.digest}: ${answer.status}, ${answer.bytes} bytes`);
          }
        }),
      );
      rates.push(rate(total, performance.now() - started));
    }
    await proxy.http[0]!.request('POST', '/quit').catch(() => undefined);
    await exited;
    return median(rates);
  } finally {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL');
    for (const socket of proxy.child.stdio.slice(3)) (socket as Socket | null)?.destroy();
  }
}
