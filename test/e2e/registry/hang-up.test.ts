import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { startCappedFront, type CappedFront } from '../../support/capped-front.js';
import { FakeRegistry, faults, type Handler, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { makeImage, makeLargeLayer, type FixtureImage } from '../../support/image-fixtures.js';
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
/** What the front adds to each request on its way to the registry, on top of the grace. */
const FRONT_DELAY_MS = 5;

describe('docker:// end to end: a client that hangs up ends its upstream work', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let front: CappedFront;
  let workDir: string;
  let image: FixtureImage;
  let proxy: MultiProxy | undefined;
  let currentTest = 0;
  const layer = () => image.layers[0]!;
  const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${layer().digest}`;
  const isManifestGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url === `/v2/${REPOSITORY}/manifests/v1`;
  const isTokenRequest = (req: RecordedRequest): boolean => req.url.split('?')[0] === '/token';
  /** Which requests the current test watches. */
  let watched: (req: RecordedRequest) => boolean = () => false;
  /** When each watched request reached the registry. */
  let arrivals: number[] = [];

  before(async () => {
    workDir = makeTempDir('e2e-hang-up');
    image = makeImage({ format: 'oci', platform: { os: 'linux', architecture: 'amd64' }, layers: [makeLargeLayer(3 * 1024 * 1024, 'oci')] });
    registry = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    const [host, port] = registry.host.split(':');
    // 1 MiB/s per connection: the blob is still coming, over several connections, when its client goes.
    front = await startCappedFront({ target: { host: host!, port: Number(port) }, bytesPerSecond: 1024 * 1024, delayMs: FRONT_DELAY_MS });
  });
  beforeEach(() => {
    currentTest++;
    arrivals = [];
    watched = isLayerGet;
    const owner = currentTest;
    // Records arrivals without answering: the fault that matches next answers.
    registry.inject(
      (req) => {
        if (owner === currentTest && watched(req)) arrivals.push(Date.now());
        return false;
      },
      faults.silence(),
      Number.MAX_SAFE_INTEGER,
    );
  });
  afterEach(async () => {
    await proxy?.dispose();
    proxy = undefined;
  });
  after(async () => {
    await front?.close();
    await registry?.close();
    if (workDir) removeTempDir(workDir);
  });

  const inject = (matches: (req: RecordedRequest) => boolean, handler: Handler, times: number): void => {
    const owner = currentTest;
    registry.inject((req) => owner === currentTest && matches(req), handler, times);
  };

  function start(...options: string[]): MultiProxy {
    proxy = spawnWithPeers(
      2,
      ['--insecure-policy', '--tls-verify=false', '--blob-chunk-size', '64KiB', ...options, dockerReference(front.host, REPOSITORY, 'v1')],
      isolatedEnv(workDir),
    );
    return proxy;
  }

  async function hangUpAfter(running: MultiProxy, path: string, beforeMs: number, resolveFirst = true): Promise<number> {
    const [leaving, staying] = running.peers as [MultiProxy['peers'][0], MultiProxy['peers'][0]];
    if (resolveFirst) expect((await staying.request('GET', '/manifest')).status).to.equal(200);
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
    const late = arrivals.filter((at) => at > hungUp + GRACE_MS + FRONT_DELAY_MS).map((at) => at - hungUp);
    expect(late, 'ms after the hang-up at which a request for the blob still started').to.deep.equal([]);
    const [, staying] = running.peers as [MultiProxy['peers'][0], MultiProxy['peers'][0]];
    expect((await staying.request('GET', '/version')).status, 'the other peer is still served').to.equal(200);
    expect(running.stderr(), 'a hang-up is not a failure').to.not.match(/Premature close|io:|error/i);
  }

  it('a blob answered 429 Retry-After: 1 again and again is not asked for again after its client hung up', async () => {
    inject(isLayerGet, faults.tooManyRequests('1'), 1000);
    const running = start('--retry-times', '20');
    const hungUp = await hangUpAfter(running, `/blobs/${layer().digest}`, 1500);
    expect(arrivals.length, 'the blob was asked for before the hang-up').to.be.at.least(1);
    await expectNothingLater(running, hungUp, 2500);
  });

  it('a blob coming over several connections: none is asked for again once its client hung up mid-body', async () => {
    const running = start();
    const hungUp = await hangUpAfter(running, `/blobs/${layer().digest}`, 800);
    const ranged = registry.requests.filter((req) => isLayerGet(req) && req.headers.range !== undefined);
    expect(ranged.length, 'chunks were in flight at the hang-up').to.be.at.least(3);
    await expectNothingLater(running, hungUp, 1500);
  });

  it('chunks answered 429 again and again: no retry starts after the client hung up', async () => {
    let chunks = 0;
    // The probe passes, so the blob goes parallel; every later chunk is told to come back in 1 s.
    inject((req) => isLayerGet(req) && /^bytes=\d+-\d+$/.test(req.headers.range ?? '') && ++chunks > 1, faults.tooManyRequests('1'), 1000);
    const running = start('--retry-times', '20');
    const hungUp = await hangUpAfter(running, `/blobs/${layer().digest}`, 2000);
    expect(chunks, 'chunks were retried before the hang-up').to.be.at.least(3);
    await expectNothingLater(running, hungUp, 2500);
  });

  it('a manifest answered 429 again and again: the image stops being resolved once the only client waiting for it hung up', async () => {
    watched = isManifestGet;
    inject(isManifestGet, faults.tooManyRequests('1'), 1000);
    const running = start('--retry-times', '20');
    const hungUp = await hangUpAfter(running, '/manifest', 1500, false);
    expect(arrivals.length, 'the manifest was asked for before the hang-up').to.be.at.least(1);
    await expectNothingLater(running, hungUp, 2500);
  });

  it('a token endpoint answering 429 again and again: no token request starts after the client hung up', async () => {
    watched = isTokenRequest;
    registry.auth = { kind: 'bearer', service: 'hang-up' };
    try {
      inject(isTokenRequest, faults.tooManyRequests('1'), 1000);
      const running = start('--retry-times', '20');
      const hungUp = await hangUpAfter(running, `/config`, 1500, false);
      expect(arrivals.length, 'a token was asked for before the hang-up').to.be.at.least(1);
      await expectNothingLater(running, hungUp, 2500);
    } finally {
      registry.auth = { kind: 'none' };
    }
  });
});
