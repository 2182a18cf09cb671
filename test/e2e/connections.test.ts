import { once } from 'node:events';
import { cp, lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { FakeRegistry, faults } from '../support/fake-registry.js';
import { ociBlobPath } from '../support/image-fixtures.js';
import { errorAnswerOf, exchange, parseResponses, readUntilEnd, requestBytes } from '../support/raw-http.js';
import { type ListeningProxy, runCli, spawnListening, spawnProxy, spawnWithPeers } from '../support/spawn-proxy.js';
import { type E2eImages, writeE2eImages } from './e2e-images.js';

/**
 * How connections end: hang-ups, half-closes, late or malformed requests, signals, and the unix
 * socket a killed proxy leaves behind. Every case runs the real CLI as a child process.
 */

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first bytes the peer sends (the blob's headers, at least). */
async function firstBytes(socket: Socket): Promise<Buffer> {
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk;
}

/** The body length a raw answer announced, and how many body bytes came before the end. */
function bodyProgress(bytes: Buffer): { announced: number; received: number } {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const announced = Number(/\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(0, headEnd).toString('latin1'))?.[1]);
  return { announced, received: bytes.length - headEnd - 4 };
}

describe('end to end: how connections end', function () {
  this.timeout(30000);
  let images: E2eImages;
  let workDir: string;
  let largeImage: string;
  let largeDigest: string;
  const running: { dispose(): Promise<void> }[] = [];

  before(async () => {
    images = await writeE2eImages();
    workDir = await mkdtemp(join(tmpdir(), 'cip-connections-'));
    largeImage = `oci:${images.layout}:large`;
    largeDigest = images.fixtures.ociLarge.layers[0]!.digest;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });
  after(async () => {
    await images?.cleanup();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  function sidecar(args: readonly string[], env?: NodeJS.ProcessEnv) {
    const proxy = spawnProxy(['--insecure-policy', ...args], env === undefined ? {} : { env: { ...process.env, ...env } });
    running.push(proxy);
    return proxy;
  }

  async function listening(address: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ListeningProxy> {
    const proxy = await spawnListening(address, ['--insecure-policy', ...args], env === undefined ? {} : { env: { ...process.env, ...env } });
    running.push(proxy);
    return proxy;
  }

  describe('a peer that hangs up mid-blob', () => {
    it('--sockfd: the parent closing its end mid-blob is the documented exit 0, with nothing reported', async () => {
      const proxy = sidecar([largeImage]);
      proxy.socket.write(requestBytes('GET', `/blobs/${largeDigest}`));
      expect((await firstBytes(proxy.socket)).toString('latin1')).to.match(/^HTTP\/1\.1 200 /);
      proxy.socket.destroy();
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
      expect(proxy.stderr()).to.equal('');
    });

    it('two --sockfd: one peer hanging up mid-blob ends only its connection; the other goes on', async () => {
      const proxy = spawnWithPeers(2, ['--insecure-policy', largeImage]);
      running.push(proxy);
      const [leaving, staying] = proxy.peers as [(typeof proxy.peers)[0], (typeof proxy.peers)[0]];
      leaving.socket.write(requestBytes('GET', `/blobs/${largeDigest}`));
      await firstBytes(leaving.socket);
      leaving.socket.destroy();
      await delay(300);
      expect(proxy.child.exitCode, 'still serving the other peer').to.equal(null);
      const answer = await staying.request('GET', `/blobs/${largeDigest}`);
      expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, largeDigest]);
      staying.socket.end();
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
      expect(proxy.stderr()).to.not.match(/Premature close|io:/);
    });
  });

  describe('a client that half-closes after its requests gets every answer', () => {
    const requests: readonly [string, string][] = [
      ['GET', '/manifest'],
      ['GET', '/blobs/LARGE'],
      ['GET', '/version'],
    ];
    const send = () => requests.map(([method, path]) => requestBytes(method, path.replace('LARGE', largeDigest))).join('');
    const check = (bytes: Buffer) => {
      const answers = parseResponses(
        bytes,
        requests.map(([method]) => method),
      );
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
      expect(digestOf(answers[1]!.body)).to.equal(largeDigest);
      expect(JSON.parse(answers[2]!.body.toString('utf8')) as unknown).to.have.property('apiVersion');
    };

    it('--sockfd: shutdown(SHUT_WR) right after pipelined requests; then the proxy closes and exits 0', async () => {
      const proxy = sidecar([largeImage]);
      check(await exchange(proxy.socket, send(), { halfClose: true }));
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    });

    it('--listen: the same on an accepted connection, which the proxy then closes', async () => {
      const proxy = await listening('127.0.0.1:0', [largeImage]);
      const socket = proxy.connect({ allowHalfOpen: true });
      await once(socket, 'connect');
      check(await exchange(socket, send(), { halfClose: true }));
    });
  });

  describe('requests whose headers do not arrive', () => {
    // The test hook shortens the 60 s default so these tests stay fast.
    const TIMEOUT = { CONTAINER_IMAGE_PROXY_HEADERS_TIMEOUT: '300ms' };

    it('an idle connection, before its first request and between requests, is never cut', async () => {
      const proxy = sidecar([largeImage], TIMEOUT);
      await delay(1000);
      expect((await proxy.request('GET', '/version')).status).to.equal(200);
      await delay(1000);
      expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
      expect(proxy.child.exitCode).to.equal(null);
    });

    it('--sockfd: headers begun and not finished in time are answered 408 request-timeout in JSON, then the connection closes', async () => {
      const proxy = sidecar([largeImage], TIMEOUT);
      await delay(500);
      const started = Date.now();
      const bytes = await exchange(proxy.socket, 'GET /version HTTP/1.1\r\nHost: proxy\r\n');
      expect(Date.now() - started).to.be.at.least(280);
      const answer = errorAnswerOf(bytes);
      expect([answer.status, answer.code, answer.headers['connection']]).to.deep.equal([408, 'request-timeout', 'close']);
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    });

    it('--listen: the same, and a connection that stays silent is not cut', async () => {
      const proxy = await listening('127.0.0.1:0', [largeImage], TIMEOUT);
      const silent = proxy.connect();
      const slow = proxy.connect();
      slow.write('GET /manifest HTTP/1.1\r\n');
      expect(errorAnswerOf(await readUntilEnd(slow)).code).to.equal('request-timeout');
      await delay(500);
      expect(silent.destroyed, 'the silent connection is still open').to.equal(false);
      const [answer] = parseResponses(await exchange(silent, requestBytes('GET', '/version'), { halfClose: true }), ['GET']);
      expect(answer!.status).to.equal(200);
    });
  });

  describe("errors of Node's HTTP parser get the JSON error body", () => {
    let proxy: ListeningProxy;
    beforeEach(async () => {
      proxy = await listening(`unix:${join(workDir, `parser-${Date.now()}.sock`)}`, [largeImage]);
    });

    const cases: readonly [string, string, number, string][] = [
      ['a malformed request line', 'NOT AN HTTP REQUEST\r\n\r\n', 400, 'bad-request'],
      ['an invalid header', 'GET /version HTTP/1.1\r\nBad Header: x\r\n\r\n', 400, 'bad-request'],
      ['headers too large', `GET /version HTTP/1.1\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431, 'headers-too-large'],
    ];
    for (const [why, bytes, status, code] of cases) {
      it(`${why}: ${status} ${code} with Content-Length`, async () => {
        const answer = errorAnswerOf(await exchange(proxy.connect(), bytes));
        expect([answer.status, answer.code]).to.deep.equal([status, code]);
        expect(answer.message).to.be.a('string').and.not.equal('');
        expect(answer.headers['content-type']).to.equal('application/json');
      });
    }
  });

  it('a query parameter given twice is 400 bad-request, whichever the endpoint; the connection stays usable', async () => {
    const proxy = sidecar([largeImage]);
    const image = encodeURIComponent(largeImage);
    for (const path of [
      `/manifest?image=${image}&image=${image}`,
      `/layers?image=${image}&image=oci:/elsewhere`,
      `/blobs/${largeDigest}?decompress=true&decompress=false`,
    ]) {
      const answer = await proxy.request('GET', path);
      expect(answer.status, path).to.equal(400);
      const body = JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
      expect(body.code).to.equal('bad-request');
      expect(body.message).to.match(/"(image|decompress)" is given more than once/);
    }
    expect((await proxy.request('GET', `/manifest?image=${image}`)).status).to.equal(200);
  });

  describe('SIGTERM and SIGINT', () => {
    /**
     * Starts a large blob on `socket` and stops reading it, so the transfer is under way when
     * `signal` is sent; then reads what still comes.
     */
    async function blobCutBy(socket: Socket, signal: () => void): Promise<Buffer> {
      socket.write(requestBytes('GET', `/blobs/${largeDigest}`));
      const head = await firstBytes(socket);
      socket.pause();
      await delay(200);
      signal();
      const rest = readUntilEnd(socket);
      socket.resume();
      return Buffer.concat([head, await rest]);
    }

    it('--listen unix: SIGTERM ends the transfer short, removes the socket file and exits 143', async () => {
      const path = join(workDir, 'term.sock');
      const proxy = await listening(`unix:${path}`, [largeImage]);
      const received = await blobCutBy(proxy.connect(), () => proxy.child.kill('SIGTERM'));
      expect(await proxy.exited).to.deep.equal({ code: 143, signal: null });
      const { announced, received: got } = bodyProgress(received);
      expect(announced).to.equal(images.fixtures.ociLarge.layers[0]!.bytes.length);
      expect(got, 'a short body, never a complete one').to.be.below(announced);
      let exists = true;
      await lstat(path).catch(() => (exists = false));
      expect(exists, 'the socket file is removed').to.equal(false);
    });

    it('--sockfd: SIGINT ends the transfer short and exits 130', async () => {
      const proxy = sidecar([largeImage]);
      const received = await blobCutBy(proxy.socket, () => proxy.child.kill('SIGINT'));
      expect(await proxy.exited).to.deep.equal({ code: 130, signal: null });
      const { announced, received: got } = bodyProgress(received);
      expect(got).to.be.below(announced);
    });
  });

  describe('a unix socket path that already exists', () => {
    it('a socket left by a killed proxy is replaced', async () => {
      const path = join(workDir, 'stale.sock');
      const killed = await listening(`unix:${path}`, [largeImage]);
      killed.child.kill('SIGKILL');
      await killed.exited;
      expect((await lstat(path)).isSocket(), 'the killed proxy left its socket').to.equal(true);
      const proxy = await listening(`unix:${path}`, [largeImage]);
      const [answer] = parseResponses(await exchange(proxy.connect(), requestBytes('GET', '/version'), { halfClose: true }), ['GET']);
      expect(answer!.status).to.equal(200);
    });

    it('a socket something listens on is refused, and left working', async () => {
      const path = join(workDir, 'busy.sock');
      const other = createServer((socket) => socket.on('error', () => undefined).end('still mine'));
      await new Promise<void>((resolve) => other.listen(path, resolve));
      try {
        const run = await runCli(['--listen', `unix:${path}`, '--insecure-policy', largeImage]);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.contain(`unix:${path}`).and.to.contain('another process is listening');
        expect((await readUntilEnd(connect(path))).toString()).to.equal('still mine');
      } finally {
        await new Promise((resolve) => other.close(resolve));
      }
    });

    it('a path that is not a socket is refused and left untouched', async () => {
      const path = join(workDir, 'not-a-socket');
      await writeFile(path, 'precious');
      const run = await runCli(['--listen', `unix:${path}`, '--insecure-policy', largeImage]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain('is not a socket');
      expect(await readFile(path, 'utf8')).to.equal('precious');
    });
  });
  describe('answers stay in order and in JSON', () => {
    it('a malformed request pipelined after a good one is answered after it, then the connection closes', async () => {
      const proxy = sidecar([largeImage]);
      const bytes = await exchange(proxy.socket, `${requestBytes('GET', '/manifest')}BOGUS LINE\x01\r\n\r\n`);
      const [manifest, refused] = parseResponses(bytes, ['GET', 'GET']);
      expect(manifest!.status, 'the first answer is the manifest').to.equal(200);
      expect(manifest!.headers['content-type']).to.equal('application/vnd.oci.image.manifest.v1+json');
      const error = JSON.parse(refused!.body.toString('utf8')) as { code: string };
      expect([refused!.status, error.code, refused!.headers['connection']]).to.deep.equal([400, 'bad-request', 'close']);
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    });

    it('CONNECT is 405 method-not-allowed in JSON with Content-Length, then the connection closes', async () => {
      const proxy = sidecar([largeImage]);
      const answer = errorAnswerOf(await exchange(proxy.socket, 'CONNECT registry.example:443 HTTP/1.1\r\nHost: registry.example:443\r\n\r\n'));
      expect([answer.status, answer.code, answer.headers['connection']]).to.deep.equal([405, 'method-not-allowed', 'close']);
      expect(answer.message).to.contain('CONNECT');
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
    });
  });

  describe('a layer read with ?decompress=true', () => {
    it('a corrupt layer that arrives in one chunk is a verification failure: no answer, the connection cut, exit 1', async () => {
      const layer = images.fixtures.ociSingle.layers[0]!;
      expect(layer.bytes.length, 'a small gzip layer, read in one chunk').to.be.lessThan(16 * 1024);
      const layout = join(workDir, `corrupt-${Date.now()}`);
      await cp(images.layout, layout, { recursive: true });
      const corrupt = Buffer.from(layer.bytes);
      corrupt.writeUInt8(corrupt.readUInt8(corrupt.length >> 1) ^ 0x01, corrupt.length >> 1);
      await writeFile(ociBlobPath(layout, layer.digest), corrupt);
      const proxy = sidecar([`oci:${layout}:single`]);
      const bytes = await exchange(proxy.socket, requestBytes('GET', `/blobs/${layer.digest}?decompress=true`));
      expect(bytes.toString('latin1'), 'no complete answer, and no JSON error that reads like a refused request').to.not.match(/\r\n\r\n\{"code"/);
      expect(await proxy.exited).to.deep.equal({ code: 1, signal: null });
      const lines = proxy.stderr().trimEnd().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0])
        .to.match(/digest-mismatch/)
        .and.to.contain(layer.digest);
    });

    it('a client that hangs up while the layer is still awaited is not reported, and the session goes on', async () => {
      const registry = await FakeRegistry.start();
      running.push({ dispose: () => registry.close() });
      const image = images.fixtures.ociSingle;
      const layer = image.layers[0]!;
      for (const blob of [image.config, layer]) registry.putBlob('slow/layer', blob.bytes);
      registry.putManifest('slow/layer', image.manifest.bytes, image.manifest.mediaType, 'v1');
      registry.inject((request) => request.url.includes(`/blobs/${layer.digest}`), faults.stallAfter(layer.bytes, 0));
      const proxy = spawnWithPeers(2, ['--insecure-policy', '--tls-verify=false', `docker://${registry.host}/slow/layer:v1`]);
      running.push(proxy);
      const [leaving, staying] = proxy.peers as [(typeof proxy.peers)[0], (typeof proxy.peers)[0]];
      expect((await staying.request('GET', '/manifest')).status).to.equal(200);
      leaving.socket.write(requestBytes('GET', `/blobs/${layer.digest}?decompress=true`));
      await delay(1000);
      expect(registry.requestsTo(/\/blobs\//).length, 'the layer was asked for').to.be.at.least(1);
      leaving.socket.destroy();
      await delay(500);
      expect((await staying.request('GET', '/version')).status).to.equal(200);
      expect(proxy.child.exitCode).to.equal(null);
      expect(proxy.stderr()).to.equal('');
    });
  });
});
