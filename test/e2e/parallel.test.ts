import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { FakeRegistry, type RecordedRequest } from '../support/fake-registry.js';
import { makeImage, PLATFORMS, standardFixtures, writeOciLayout } from '../support/image-fixtures.js';
import { parseResponses } from '../support/raw-http.js';
import { type MultiProxy, type Peer, runCli, spawnProxy, spawnWithPeers } from '../support/spawn-proxy.js';
import { dockerReference, isolatedEnv } from './registry/proxy-session.js';

/**
 * Several inherited connections served by one process (one cache, one token cache), HTTP/1.1
 * pipelining answered in order, and the --debug request log.
 */

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('end to end: parallel connections, pipelining, request logs', function () {
  this.timeout(30000);
  const fixtures = standardFixtures();
  const large = fixtures.ociLarge.layers[0]!;
  const small = fixtures.ociSingle.layers[0]!;
  const image = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [large, small] });
  const REPOSITORY = 'parallel/app';
  let workDir: string;
  let layout: string;
  let registry: FakeRegistry;
  const running: { dispose(): Promise<void> }[] = [];

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'cip-parallel-'));
    layout = join(workDir, 'layout');
    await writeOciLayout(layout, [{ artifact: image, name: 'app' }]);
    registry = await FakeRegistry.start({ kind: 'bearer', service: 'parallel-test', tokenDelayMs: 50 });
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
  });
  beforeEach(() => {
    registry.requests.length = 0;
    registry.issuedTokens.clear();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });
  after(async () => {
    await registry?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  function start(count: number, ...args: string[]): MultiProxy {
    const proxy = spawnWithPeers(count, ['--insecure-policy', ...args], isolatedEnv(workDir));
    running.push(proxy);
    return proxy;
  }

  it('two --sockfd: a stalled blob on one does not hold up the other, and both share one resolution and one token', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isLargeGet = (req: RecordedRequest) => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${large.digest}`;
    registry.inject(isLargeGet, async (_req, res) => {
      res.writeHead(200, { 'content-length': large.bytes.length, 'content-type': 'application/octet-stream' });
      res.write(Buffer.from(large.bytes.subarray(0, 1024)));
      await released;
      res.end(Buffer.from(large.bytes.subarray(1024)));
    });
    const proxy = start(2, '--tls-verify=false', dockerReference(registry.host, REPOSITORY, 'v1'));
    const [slowPeer, fastPeer] = proxy.peers as [Peer, Peer];

    // Both ask at once: the image is resolved once for both.
    const [first, second] = await Promise.all([slowPeer.request('GET', '/manifest'), fastPeer.request('GET', '/manifest')]);
    expect([first.status, second.status]).to.deep.equal([200, 200]);
    expect(first.body.equals(second.body)).to.equal(true);

    const slow = slowPeer.request('GET', `/blobs/${large.digest}`);
    let slowDone = false;
    void slow.then(() => (slowDone = true));
    await delay(100);
    for (const blob of [image.config, small]) {
      const answer = await fastPeer.request('GET', `/blobs/${blob.digest}`);
      expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, blob.digest]);
    }
    expect((await fastPeer.request('GET', '/layers')).status).to.equal(200);
    expect(slowDone, 'the stalled blob is still pending while the other connection was served').to.equal(false);

    release();
    const answer = await slow;
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, large.digest]);
    expect(
      registry.requestsTo(/\/manifests\//).filter((r) => r.method === 'GET'),
      'one manifest fetch for both connections',
    ).to.have.length(1);
    expect(registry.requestsTo(/^\/token$/), 'one token for both connections').to.have.length(1);
    expect(registry.issuedTokens.size).to.equal(1);
  });

  it('exits 0 only once every peer has closed', async () => {
    const proxy = start(2, `oci:${layout}:app`);
    const [a, b] = proxy.peers as [Peer, Peer];
    expect((await a.request('GET', '/manifest')).status).to.equal(200);
    a.socket.end();
    await delay(300);
    expect(proxy.child.exitCode, 'still serving the other peer').to.equal(null);
    const answer = await b.request('GET', `/blobs/${small.digest}`);
    expect([answer.status, digestOf(answer.body)]).to.deep.equal([200, small.digest]);
    b.socket.end();
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('POST /quit on any connection ends the process with 0', async () => {
    const proxy = start(3, `oci:${layout}:app`);
    expect((await proxy.peers[2]!.request('POST', '/quit')).status).to.equal(200);
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('a --sockfd that is not a socket fails before serving anything, naming the fd', async () => {
    const run = await runCli(['--sockfd', '0', '--sockfd', '9', '--insecure-policy', `oci:${layout}:app`]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('file descriptors 0, 9 are not open sockets');
  });

  it('HTTP/1.1 pipelining: requests written in one go are answered in order on one connection', async () => {
    const proxy = spawnProxy(['--insecure-policy', `oci:${layout}:app`]);
    running.push(proxy);
    const received: Buffer[] = [];
    proxy.socket.on('data', (chunk: Buffer) => received.push(chunk));
    // The exit can be seen before the last answers are read off the socket: wait for its end too.
    const ended = new Promise((resolve) => proxy.socket.once('end', resolve));
    const requests: readonly [string, string][] = [
      ['GET', `/blobs/${large.digest}`],
      ['GET', '/version'],
      ['HEAD', '/manifest'],
      ['GET', '/nowhere'],
      ['GET', `/blobs/${small.digest}`],
      ['GET', '/config'],
      ['POST', '/quit'],
    ];
    proxy.socket.write(
      requests.map(([method, path]) => `${method} ${path} HTTP/1.1\r\nHost: proxy\r\n${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`).join(''),
    );
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    await ended;
    const answers = parseResponses(
      Buffer.concat(received),
      requests.map(([method]) => method),
    );
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200, 404, 200, 200, 200]);
    expect(digestOf(answers[0]!.body)).to.equal(large.digest);
    expect(JSON.parse(answers[1]!.body.toString()) as unknown).to.have.property('apiVersion', '1.1');
    expect(answers[2]!.headers['content-length']).to.equal(String(image.manifest.bytes.length));
    expect(JSON.parse(answers[3]!.body.toString()) as unknown).to.have.property('code', 'not-found');
    expect(digestOf(answers[4]!.body)).to.equal(small.digest);
    expect(digestOf(answers[5]!.body)).to.equal(image.config.digest);
  });

  it('--debug: one JSON line per request with method, path, status, body bytes, ms and image; no header values', async () => {
    const secret = 'Bearer s3cr3t-never-logged';
    const proxy = start(1, '--debug', `oci:${layout}:app`);
    const peer = proxy.peers[0]!;
    const requests: readonly [string, string, number, number][] = [
      ['GET', '/manifest', 200, image.manifest.bytes.length],
      ['HEAD', `/blobs/${small.digest}`, 200, 0],
      ['GET', `/blobs/${large.digest}`, 200, large.bytes.length],
      ['GET', `/manifest?image=${encodeURIComponent(`oci:${layout}:app`)}`, 200, image.manifest.bytes.length],
      ['GET', `/blobs/sha256:${'0'.repeat(64)}`, 404, -1],
    ];
    for (const [method, path, status] of requests) expect((await peer.request(method, path, { Authorization: secret })).status).to.equal(status);
    peer.socket.end();
    expect((await proxy.exited).code).to.equal(0);
    const lines = proxy
      .stderr()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = lines.filter((line) => 'method' in line);
    expect(requestLines).to.have.length(requests.length);
    requests.forEach(([method, path, status, bytes], i) => {
      const line = requestLines[i]!;
      expect(Object.keys(line)).to.include.members(['time', 'level', 'method', 'path', 'status', 'bytes', 'ms']);
      expect([line['method'], line['path'], line['status']]).to.deep.equal([method, path.split('?')[0], status]);
      if (bytes >= 0) expect(line['bytes'], `${method} ${path}`).to.equal(bytes);
      expect(line['ms']).to.be.a('number').and.to.be.at.least(0);
      expect(new Date(line['time'] as string).toISOString()).to.equal(line['time']);
    });
    expect(requestLines[3]!['image']).to.equal(`oci:${layout}:app`);
    expect(requestLines[0]).to.not.have.property('image');
    // The 404 is also reported as an error, in the same JSON form.
    expect(lines.filter((line) => line['level'] === 'error' && 'message' in line).map((line) => line['message'])).to.have.length(1);
    expect(proxy.stderr()).to.not.contain('s3cr3t');
  });

  it('--log-level info and error keep the plain error lines; an unknown level or a conflicting --debug is a usage error', async () => {
    for (const level of ['info', 'error']) {
      const proxy = start(1, '--log-level', level, `oci:${layout}:app`);
      expect((await proxy.peers[0]!.request('GET', '/blobs/sha256:NOTHEX')).status).to.equal(400);
      proxy.peers[0]!.socket.end();
      expect((await proxy.exited).code).to.equal(0);
      expect(proxy.stderr()).to.match(/^container-image-proxy: GET \/blobs\/sha256:NOTHEX: bad-request: [^\n]*\n$/);
    }
    for (const args of [
      ['--log-level', 'verbose'],
      ['--debug', '--log-level=info'],
    ]) {
      const run = await runCli([...args, `oci:${layout}:app`]);
      expect(run.code, args.join(' ')).to.equal(2);
      expect(run.stderr).to.contain('--log-level');
    }
  });
});
