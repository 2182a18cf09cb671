import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { FakeRegistry, faults, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { requestBytes } from '../../support/raw-http.js';
import { spawnWithPeers, type MultiProxy } from '../../support/spawn-proxy.js';
import { dockerReference, isolatedEnv } from './proxy-session.js';

/**
 * Upstream work ends with its client: once a peer hangs up, no request for its answer starts at
 * the registry more than 100 ms later, whether the proxy was waiting out a 429, streaming one
 * body or several ranged chunks. The other peer's session goes on.
 */

const REPOSITORY = 'hangup/large';
const GRACE_MS = 100;

describe('docker:// end to end: a client that hangs up ends its upstream work', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let workDir: string;
  let image: FixtureImage;
  let proxy: MultiProxy | undefined;
  let currentTest = 0;
  const layer = () => image.layers[0]!;
  const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${layer().digest}`;
  /** When each request for the layer reached the registry. */
  let arrivals: number[] = [];

  before(async () => {
    workDir = makeTempDir('e2e-hang-up');
    image = standardFixtures().ociLarge;
    registry = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
  });
  beforeEach(() => {
    currentTest++;
    arrivals = [];
    const owner = currentTest;
    // Records arrivals without answering: the fault that matches next answers.
    registry.inject((req) => {
      if (owner === currentTest && isLayerGet(req)) arrivals.push(Date.now());
      return false;
    }, faults.silence(), Number.MAX_SAFE_INTEGER);
  });
  afterEach(async () => {
    await proxy?.dispose();
    proxy = undefined;
  });
  after(async () => {
    await registry?.close();
    if (workDir) removeTempDir(workDir);
  });

  function start(...options: string[]): MultiProxy {
    proxy = spawnWithPeers(2, ['--insecure-policy', '--tls-verify=false', ...options, dockerReference(registry.host, REPOSITORY, 'v1')], isolatedEnv(workDir));
    return proxy;
  }

  async function hangUpAfter(running: MultiProxy, path: string, beforeMs: number): Promise<number> {
    const [leaving, staying] = running.peers as [MultiProxy['peers'][0], MultiProxy['peers'][0]];
    expect((await staying.request('GET', '/manifest')).status).to.equal(200);
    leaving.socket.on('error', () => undefined);
    leaving.socket.resume();
    leaving.socket.write(requestBytes('GET', path));
    await delay(beforeMs);
    const hungUp = Date.now();
    leaving.socket.destroy();
    return hungUp;
  }

  async function expectNothingLater(running: MultiProxy, hungUp: number, waitMs: number): Promise<void> {
    await delay(waitMs);
    const late = arrivals.filter((at) => at > hungUp + GRACE_MS).map((at) => at - hungUp);
    expect(late, 'ms after the hang-up at which a request for the blob still started').to.deep.equal([]);
    const [, staying] = running.peers as [MultiProxy['peers'][0], MultiProxy['peers'][0]];
    expect((await staying.request('GET', '/version')).status, 'the other peer is still served').to.equal(200);
    expect(running.stderr(), 'a hang-up is not a failure').to.not.match(/Premature close|io:|error/i);
  }

  it('a blob answered 429 Retry-After: 1 again and again is not asked for again after its client hung up', async () => {
    registry.inject((req) => isLayerGet(req), faults.tooManyRequests('1'), 1000);
    const running = start('--retry-times', '20');
    const hungUp = await hangUpAfter(running, `/blobs/${layer().digest}`, 1500);
    expect(arrivals.length, 'the blob was asked for before the hang-up').to.be.at.least(1);
    await expectNothingLater(running, hungUp, 2500);
  });
});
