import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { startCappedFront, type CappedFront } from '../../support/capped-front.js';
import { FakeRegistry, faults, registryErrorBody, requestedRange, type Handler, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { makeImage, makeLargeLayer, type FixtureImage } from '../../support/image-fixtures.js';
import { dockerReference, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * A large blob fetched over several connections, through the CLI, from an in-process registry
 * behind a front that caps each connection (as CDNs do) and delays each request: the blob
 * arrives whole and verified, and every way a registry can answer a ranged request wrongly ends
 * in a clean fallback, a resumed chunk or an incomplete body, never a complete wrong one. The
 * chunks are tiny (64 KiB) so the blob stays small.
 */

const REPOSITORY = 'parallel/large';
const CHUNK = 64 * 1024;
const LAYER_SIZE = 3 * 1024 * 1024;
/** Slow enough per connection that a second one clearly pays, fast enough to keep tests short. */
const CAP = 1024 * 1024;
const PLATFORM = { os: 'linux', architecture: 'amd64' };

describe('docker:// end to end: a large blob over several connections', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let otherHost: FakeRegistry;
  let front: CappedFront;
  let workDir: string;
  let image: FixtureImage;
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  const proxy = (...options: string[]) =>
    pool.start('--tls-verify=false', '--blob-chunk-size', '64KiB', ...options, dockerReference(front.host, REPOSITORY, 'v1'));
  const layer = () => image.layers[0]!;
  const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${layer().digest}`;
  /** A ranged request for a chunk other than the first answer's resumption. */
  const isChunkGet = (req: RecordedRequest): boolean => isLayerGet(req) && /^bytes=\d+-\d+$/.test(req.headers.range ?? '');
  /** A chunk request after the probe (the first one), which has already shown that several connections pay. */
  const afterProbe = (): ((req: RecordedRequest) => boolean) => {
    let chunks = 0;
    return (req) => isChunkGet(req) && ++chunks > 1;
  };
  const layerRequests = () => registry.requests.filter(isLayerGet);
  let currentTest = 0;
  const inject = (matches: (req: RecordedRequest) => boolean, handler: Handler, times = 1): void => {
    const owner = currentTest;
    registry.inject((req) => owner === currentTest && matches(req), handler, times);
  };

  before(async () => {
    workDir = makeTempDir('e2e-parallel-blobs');
    image = makeImage({ format: 'oci', platform: PLATFORM, layers: [makeLargeLayer(LAYER_SIZE, 'oci')] });
    registry = await FakeRegistry.start();
    otherHost = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    otherHost.putBlob(REPOSITORY, layer().bytes);
    const [host, port] = registry.host.split(':');
    front = await startCappedFront({ target: { host: host!, port: Number(port) }, bytesPerSecond: CAP, delayMs: 5 });
  });
  beforeEach(() => {
    currentTest++;
    registry.requests.length = 0;
    otherHost.requests.length = 0;
  });
  afterEach(() => pool.disposeAll());
  after(async () => {
    await front?.close();
    await registry?.close();
    await otherHost?.close();
    if (workDir) removeTempDir(workDir);
  });

  /** Every chunk request asked for whole chunks, each byte of the blob exactly once. */
  function expectChunksTile(requests: readonly RecordedRequest[]): void {
    for (const request of requests) {
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '')!;
      const [start, last] = [Number(range[1]), Number(range[2])];
      expect(start % CHUNK, request.headers.range).to.equal(0);
      expect(last === layer().bytes.length - 1 || (last + 1) % CHUNK === 0, request.headers.range).to.equal(true);
    }
  }

  it('a capped registry: the blob comes over several connections, in whole chunks, verified', async () => {
    const started = performance.now();
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    const seconds = (performance.now() - started) / 1000;
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
    const chunks = layerRequests().filter(isChunkGet);
    expect(layerRequests()[0]!.headers.range, 'the first request is a plain GET').to.equal(undefined);
    expect(chunks.length, 'ranged chunk requests').to.be.at.least(8);
    expectChunksTile(chunks);
    // One connection would take LAYER_SIZE / CAP = 3 s.
    expect(seconds, 'faster than one capped connection').to.be.below(2);
  });

  it('--max-parallel-per-blob 1: one plain GET, as one stream', async () => {
    const answer = await proxy('--max-parallel-per-blob', '1').request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
    expect(layerRequests().map((r) => r.headers.range)).to.deep.equal([undefined]);
  });

  it('?decompress=true works on top: the tar arrives whole, checked against its diff ID', async () => {
    const answer = await proxy().request('GET', `/blobs/${layer().digest}?decompress=true`);
    expect([answer.status, answer.complete]).to.deep.equal([200, true]);
    expect(digestOf(answer.body)).to.equal(layer().diffId);
    expect(layerRequests().filter(isChunkGet).length).to.be.at.least(8);
  });

  it('a 206 with another range than asked for: the body stays short and the proxy names the range', async () => {
    inject(afterProbe(), (req, res) => {
      const { start, end } = requestedRange(req, layer().bytes.length)!;
      // The right length from one chunk further on: wrong bytes at the right place if believed.
      const shifted = Math.min(start + CHUNK, layer().bytes.length - (end - start));
      res.writeHead(206, { 'content-length': end - start, 'content-range': `bytes ${shifted}-${shifted + end - start - 1}/${layer().bytes.length}` });
      res.end(Buffer.from(layer().bytes.subarray(shifted, shifted + end - start)));
    });
    const running = proxy();
    const answer = await running.request('GET', `/blobs/${layer().digest}`);
    expect(answer.complete, 'never a complete body').to.equal(false);
    expect(answer.body.length).to.be.lessThan(LAYER_SIZE);
    const exit = await running.exited;
    expect(exit.code).to.not.equal(0);
    expect(running.stderr()).to.match(/asked 127\.0\.0\.1:\d+ for bytes \d+-\d+\/\d+, it answered Content-Range/);
  });

  it('a registry that ignores Range: one stream, every byte sent once, verified', async () => {
    inject(isChunkGet, faults.bytes(layer().bytes, { 'content-type': 'application/octet-stream' }), 100);
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete, answer.body.length, digestOf(answer.body)]).to.deep.equal([200, true, layer().bytes.length, layer().digest]);
    const requests = layerRequests();
    expect(requests.filter(isChunkGet), 'one probe, then no more ranged requests').to.have.length(1);
    expect(requests).to.have.length(2);
  });

  it('a chunk cut mid-way is resumed alone from its last byte, and the blob verifies', async () => {
    let cut: { start: number; end: number } | undefined;
    const chunkAfterProbe = afterProbe();
    inject(
      (req) => chunkAfterProbe(req) && cut === undefined,
      (req, res) => {
        cut = requestedRange(req, layer().bytes.length)!;
        return faults.resetAfter(layer().bytes, 16 * 1024)(req, res, undefined as never);
      },
    );
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
    const resumed = layerRequests()
      .map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.headers.range ?? ''))
      .filter((range) => range !== null && Number(range[1]) > cut!.start && Number(range[1]) < cut!.end);
    expect(resumed, 'one request resumes inside the cut chunk').to.have.length(1);
    expect(Number(resumed[0]![2]), 'and asks only for the rest of that chunk').to.equal(cut!.end - 1);
  });

  it('chunks redirected to another host are fetched there, each without the Authorization header', async () => {
    inject(isChunkGet, (req, res) => faults.redirect(`${otherHost.url}${req.url}`)(req, res, undefined as never), 1000);
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
    const redirected = otherHost.requests.filter((r) => r.url.includes(layer().digest));
    expect(redirected.length, 'chunks fetched from the other host').to.be.at.least(8);
    for (const request of redirected) {
      expect(request.headers.range, 'the range goes along').to.match(/^bytes=\d+-\d+$/);
      expect(request.headers.authorization).to.equal(undefined);
    }
  });

  it("a registry error for a chunk, after retries: the body stays short, the error is the registry's", async () => {
    inject(afterProbe(), faults.status(503, registryErrorBody('UNAVAILABLE', 'chunk store down')), 1000);
    const running = proxy('--retry-times', '1', '--retry-delay', '50ms');
    const answer = await running.request('GET', `/blobs/${layer().digest}`);
    expect(answer.complete).to.equal(false);
    await running.exited;
    expect(running.stderr()).to.include('chunk store down');
  });

  it('a token that lapses mid-blob is renewed once, and the chunks go on with the new one', async () => {
    registry.auth = { kind: 'bearer', service: 'parallel' };
    try {
      let lapsed: string | undefined;
      inject(afterProbe(), (req, res) => {
        lapsed = req.headers.authorization!.replace(/^Bearer /, '');
        // The registry's verdict on an expired token: it is no longer accepted at all.
        registry.issuedTokens.delete(lapsed);
        const challenge = `Bearer realm="${registry.url}/token",service="parallel",scope="repository:${REPOSITORY}:pull",error="invalid_token"`;
        return faults.status(401, registryErrorBody('UNAUTHORIZED', 'token expired'), { 'www-authenticate': challenge })(req, res, undefined as never);
      });
      const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
      expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
      expect(lapsed, 'a chunk was refused').to.be.a('string');
      expect(registry.requestsTo(/^\/token$/), 'one token, then its renewal').to.have.length(2);
      const renewed = layerRequests().filter((r) => isChunkGet(r) && r.headers.authorization !== `Bearer ${lapsed}`);
      expect(renewed.length, 'chunks sent with the renewed token').to.be.at.least(4);
    } finally {
      registry.auth = { kind: 'none' };
    }
  });
});
