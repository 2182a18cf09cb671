/**
 * docker-daemon: when the engine fails, through the real CLI: an engine that is not there, one
 * that refuses, one whose export breaks off or is no tar, one that goes quiet, and a $DOCKER_HOST
 * that names no engine. Each is a JSON error with its code, nothing is left in $TMPDIR, and the
 * session goes on. The failing engine is a fault-injecting fake on a unix socket (a real engine
 * cannot be made to fail on cue); its good answers are a real `docker save` archive written by
 * skopeo.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import { dockerArchive } from '../../adapters/archive/archive-fixtures.js';
import { endSessionsLeavingNoExport, exportsIn } from '../../support/docker-engine.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { makeSkopeoEnvironment, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { type ProxyProcess, runCli, spawnProxy } from '../../support/spawn-proxy.js';
import { errorOf, fetchVerifiedImage, isolatedEnv } from '../registry/proxy-session.js';

type Fault = (response: ServerResponse) => void;

describe('docker-daemon: engine failures through the CLI', function () {
  this.timeout(60_000);
  let work: string;
  let skopeoEnv: SkopeoEnvironment;
  let archive: Buffer;
  let engine: Server;
  let socketPath: string;
  let tmp: string;
  /** What the fake engine does with the next export requests, in order; then it serves the archive. */
  const faults: Fault[] = [];
  const requested: string[] = [];
  const started: ProxyProcess[] = [];
  const pool = {
    start: (...args: string[]): ProxyProcess => {
      const proxy = spawnProxy(['--insecure-policy', ...args], { env: isolatedEnv(work, { TMPDIR: tmp }) });
      started.push(proxy);
      return proxy;
    },
  };

  before(async function () {
    requireRegistryTools(this);
    work = makeTempDir('docker-daemon-faults');
    skopeoEnv = makeSkopeoEnvironment();
    archive = readFileSync(await dockerArchive(skopeoEnv, work, 'served', standardFixtures().ociSingle, 'localhost/faults/app:v1'));
    socketPath = join(work, 'engine.sock');
    engine = createServer((req, res) => {
      requested.push(req.url ?? '');
      const fault = faults.shift();
      if (fault !== undefined) return fault(res);
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.end(archive);
    });
    await new Promise<void>((resolve) => engine.listen(socketPath, resolve));
  });
  beforeEach(() => {
    faults.length = 0;
    requested.length = 0;
    tmp = join(work, `tmp-${Date.now()}`);
    mkdirSync(tmp);
  });
  afterEach(() => endSessionsLeavingNoExport(started, tmp));
  after(async () => {
    if (engine !== undefined) {
      engine.closeAllConnections();
      await new Promise((resolve) => engine.close(resolve));
    }
    skopeoEnv?.cleanup();
    if (work) removeTempDir(work);
  });

  const image = 'docker-daemon:localhost/faults/app:v1';

  it('asks the engine for the familiar name, and serves its export', async () => {
    const proxy = pool.start('--daemon-host', `unix://${socketPath}`, 'docker-daemon:busybox:1');
    await fetchVerifiedImage(proxy);
    expect(requested).to.deep.equal(['/images/busybox%3A1/get']);
  });

  it('an export that breaks off is engine-error, and the next request exports again', async () => {
    faults.push((res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.write(archive.subarray(0, archive.length >> 1), () => res.socket?.destroy());
    });
    const proxy = pool.start('--daemon-host', `unix://${socketPath}`, image);
    const broken = await proxy.request('GET', '/manifest');
    expect([broken.status, errorOf(broken).code]).to.deep.equal([502, 'engine-error']);
    expect(errorOf(broken).message).to.match(/export of localhost\/faults\/app:v1 .*broke off after \d+ bytes/);
    expect(exportsIn(tmp), 'the partial export is removed at once').to.deep.equal([]);
    await fetchVerifiedImage(proxy);
    expect(requested).to.have.length(2);
  });

  it('a complete answer that is not a whole tar is engine-error', async () => {
    faults.push((res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.end(archive.subarray(0, 1536 + 100));
    });
    const proxy = pool.start('--daemon-host', `unix://${socketPath}`, image);
    const answer = await proxy.request('GET', '/config');
    expect([answer.status, errorOf(answer).code], errorOf(answer).message).to.deep.equal([502, 'engine-error']);
    expect(errorOf(answer).message).to.include("the engine's export of localhost/faults/app:v1");
    expect(errorOf(answer).message).to.not.include(tmp);
  });

  it('an engine that refuses is engine-error with its message; 404 is image-not-found', async () => {
    faults.push((res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'write /var/tmp/x: no space left on device' }));
    });
    faults.push((res) => {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'reference does not exist' }));
    });
    const proxy = pool.start('--daemon-host', `unix://${socketPath}`, image);
    const refused = await proxy.request('GET', '/manifest');
    expect([refused.status, errorOf(refused).code]).to.deep.equal([502, 'engine-error']);
    expect(errorOf(refused).message).to.include('(HTTP 500): write /var/tmp/x: no space left on device');
    const unknown = await proxy.request('GET', '/manifest');
    expect([unknown.status, errorOf(unknown).code]).to.deep.equal([404, 'image-not-found']);
    expect(errorOf(unknown).message).to.include('has no image localhost/faults/app:v1: reference does not exist');
    expect(proxy.stderr(), 'a missing image is not noise').to.not.include('image-not-found');
  });

  it("an engine's message reaches the error and the log without its control characters, and cut short", async () => {
    faults.push((res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      // A terminal would run these: set its title, colour what follows, return to the line's start.
      res.end(JSON.stringify({ message: `boom \u001b]0;owned\u0007 \u001b[31mred\u001b[0m\rforged line ${'x'.repeat(10_000)}` }));
    });
    const proxy = pool.start('--daemon-host', `unix://${socketPath}`, image);
    const refused = await proxy.request('GET', '/manifest');
    expect([refused.status, errorOf(refused).code]).to.deep.equal([502, 'engine-error']);
    const message = errorOf(refused).message;
    expect(message).to.include('(HTTP 500): boom \\x1b]0;owned\\x07 \\x1b[31mred\\x1b[0m forged line xxx');
    expect(message.length).to.be.below(1000);
    await proxy.request('GET', '/version');
    expect(proxy.stderr())
      .to.include('boom \\x1b]0;owned')
      .and.not.match(/(?!\n)\p{Cc}/u);
  });

  it('an engine that goes quiet fails with timeout after --idle-timeout', async () => {
    faults.push((res) => res.writeHead(200).flushHeaders());
    const proxy = pool.start('--idle-timeout', '1s', '--daemon-host', `unix://${socketPath}`, image);
    const started = Date.now();
    const answer = await proxy.request('GET', '/manifest');
    expect([answer.status, errorOf(answer).code]).to.deep.equal([504, 'timeout']);
    expect(Date.now() - started).to.be.within(900, 10_000);
  });

  it('an engine that is not there is network, naming the socket and how to name another; the session goes on', async () => {
    const missing = join(work, 'no-engine.sock');
    const proxy = pool.start('--daemon-host', `unix://${missing}`, image);
    const answer = await proxy.request('GET', '/manifest');
    expect([answer.status, errorOf(answer).code]).to.deep.equal([502, 'network']);
    expect(errorOf(answer).message).to.include(`the Docker engine at unix://${missing} (--daemon-host)`).and.include('--daemon-host or $DOCKER_HOST');
    const version = await proxy.request('GET', '/version');
    expect(version.status).to.equal(200);
  });

  it('$DOCKER_HOST that names no engine fails docker-daemon: images only, with config-invalid', async () => {
    // A scheme Docker has but the proxy does not speak.
    const failing = spawnProxy(['--insecure-policy', image], { env: isolatedEnv(work, { TMPDIR: tmp, DOCKER_HOST: 'ssh://engine.example' }) });
    started.push(failing);
    const answer = await failing.request('GET', '/manifest');
    expect([answer.status, errorOf(answer).code]).to.deep.equal([500, 'config-invalid']);
    expect(errorOf(answer).message)
      .to.include('$DOCKER_HOST "ssh://engine.example": ssh:// is not supported')
      .and.include('expected unix://PATH, tcp://HOST[:PORT]');
    const other = await failing.request('GET', `/manifest?image=${encodeURIComponent('oci:examples/image')}`);
    expect(other.status, other.body.toString()).to.equal(200);
  });

  it('--daemon-host that names no engine is a usage error', async () => {
    const run = await runCli(['--daemon-host', 'tcp://127.0.0.1:99999', image]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('--daemon-host "tcp://127.0.0.1:99999": port 99999 is out of range');
  });
});
