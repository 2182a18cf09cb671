import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf } from '../../../src/domain/digest.js';
import { SOCKET_RUN_AHEAD_BYTES } from '../../../src/adapters/http/serve.js';
import { FakeRegistry, faults, type RecordedRequest } from '../../support/fake-registry.js';
import { makeImage, makeLargeLayer } from '../../support/fixture-builders.js';
import { PLATFORMS } from '../../support/image-fixtures.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { dockerReference, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * The proxy runs ahead of its reader by at most SOCKET_RUN_AHEAD_BYTES of verified data queued
 * for the socket. These tests read the socket by hand so they can stop reading: the proxy must
 * then stop fetching (memory stays flat), and a corrupt blob must still never arrive whole, even
 * when the reader only looks after the proxy has already found the mismatch.
 */

const MIB = 1024 * 1024;
const REPOSITORY = 'slow/reader';
const HEAD_END = Buffer.from('\r\n\r\n');

function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** The raw bytes of one answer on `socket`, collected until `until` says so or the socket closes. */
class RawAnswer {
  readonly chunks: Buffer[] = [];
  received = 0;
  closed = false;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.received += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.once('close', () => (this.closed = true));
  }

  /** Status, headers and body bytes so far. */
  parsed(): { status: number; contentLength: number; body: Buffer } {
    const all = Buffer.concat(this.chunks);
    const end = all.indexOf(HEAD_END);
    if (end < 0) throw new Error('no complete header yet');
    const head = all.subarray(0, end).toString('latin1');
    return {
      status: Number(head.split(' ')[1]),
      contentLength: Number(/^content-length:\s*(\d+)$/im.exec(head)?.[1]),
      body: all.subarray(end + HEAD_END.length),
    };
  }

  async until(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await sleep(20);
  }
}

describe('docker:// end to end: a reader that stops reading', function () {
  this.timeout(60_000);
  let registry: FakeRegistry;
  let workDir: string;
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  const big = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [makeLargeLayer(96 * MIB, 'oci')] });
  const small = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [makeLargeLayer(SOCKET_RUN_AHEAD_BYTES / 2, 'oci')] });
  const proxy = (tag: string) => pool.start('--tls-verify=false', dockerReference(registry.host, REPOSITORY, tag));
  const get = (socket: Socket, path: string): void => void socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);

  before(async () => {
    workDir = makeTempDir('e2e-slow-reader');
    registry = await FakeRegistry.start();
    for (const [image, tag] of [
      [big, 'big'],
      [small, 'small'],
    ] as const) {
      registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, tag);
      for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    }
  });
  afterEach(() => pool.disposeAll());
  after(async () => {
    await registry?.close();
    if (workDir) removeTempDir(workDir);
  });

  it('the proxy stops fetching when its reader stops: memory grows by far less than the blob, and the blob still arrives whole afterwards', async () => {
    const layer = big.layers[0]!;
    const running = proxy('big');
    const answer = new RawAnswer(running.socket);
    get(running.socket, `/blobs/${layer.digest}`);
    await answer.until(() => answer.received >= MIB || answer.closed, 30_000);
    running.socket.pause();
    const pid = running.child.pid!;
    const started = rssOf(pid);
    let peak = started;
    // Loopback TCP and the socketpair buffer some MiB in the kernel; the proxy itself may hold
    // its run-ahead plus a few stream buffers. Anything near the blob's 96 MiB means unbounded.
    for (let i = 0; i < 40; i++) {
      await sleep(50);
      peak = Math.max(peak, rssOf(pid));
    }
    expect(peak - started, `RSS grew from ${started} to ${peak} bytes while nobody read`).to.be.lessThan(32 * MIB);
    running.socket.resume();
    await answer.until(() => answer.closed || (answer.received > layer.bytes.length && answer.parsed().body.length >= layer.bytes.length), 30_000);
    const { status, body } = answer.parsed();
    expect(status).to.equal(200);
    expect(body.length).to.equal(layer.bytes.length);
    expect(digestOf(body)).to.equal(layer.digest);
  });

  it('a corrupt blob that fits in the run-ahead, read only after the proxy has given up, still arrives short', async () => {
    const layer = small.layers[0]!;
    const corrupt = Buffer.from(layer.bytes);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${layer.digest}`;
    registry.inject(isLayerGet, faults.bytes(corrupt));
    const running = proxy('small');
    running.socket.pause();
    const answer = new RawAnswer(running.socket);
    get(running.socket, `/blobs/${layer.digest}`);
    // Nothing is read until the proxy has fetched the whole blob, found the mismatch and exited.
    const exit = await running.exited;
    running.socket.resume();
    await answer.until(() => answer.closed, 10_000);
    const { status, contentLength, body } = answer.parsed();
    expect(status).to.equal(200);
    expect(contentLength).to.equal(layer.bytes.length);
    expect(body.length, 'a corrupt body is never delivered whole').to.be.lessThan(layer.bytes.length);
    expect(exit.code).to.not.equal(0);
    expect(running.stderr()).to.include(layer.digest);
  });
});
