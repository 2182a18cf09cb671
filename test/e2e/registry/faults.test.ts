import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { FakeRegistry, faults, registryErrorBody, type Handler, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * Faults a real registry cannot be made to produce, from an in-process fake registry (a real
 * HTTP server), each asserted end to end through the CLI: either resumed and verified, or a
 * clear error and never a complete corrupt body, and never a hang.
 */

const USER = 'fault-user';
const PASSWORD = 'fault-Pa55-e2e';
const REPOSITORY = 'faults/large';

describe('docker:// end to end: registry faults through the proxy', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let otherHost: FakeRegistry;
  let workDir: string;
  let image: FixtureImage;
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  const proxy = (...options: string[]) =>
    pool.start('--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, ...options, dockerReference(registry.host, REPOSITORY, 'v1'));
  const layer = () => image.layers[0]!;
  const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url.split('?')[0] === `/v2/${REPOSITORY}/blobs/${layer().digest}`;
  const isManifestGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url === `/v2/${REPOSITORY}/manifests/v1`;
  /** The fake keeps unused faults; tying each to its test keeps a leftover from hitting the next. */
  let currentTest = 0;
  const inject = (matches: (req: RecordedRequest) => boolean, handler: Handler, times = 1): void => {
    const owner = currentTest;
    registry.inject((req) => owner === currentTest && matches(req), handler, times);
  };

  before(async () => {
    workDir = makeTempDir('e2e-registry-faults');
    image = standardFixtures().ociLarge;
    registry = await FakeRegistry.start({ kind: 'basic', username: USER, password: PASSWORD });
    otherHost = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    otherHost.putBlob(REPOSITORY, layer().bytes);
  });
  beforeEach(() => {
    currentTest++;
    registry.requests.length = 0;
    otherHost.requests.length = 0;
  });
  afterEach(() => pool.disposeAll());
  after(async () => {
    await registry?.close();
    await otherHost?.close();
    if (workDir) removeTempDir(workDir);
  });

  it('the fault-free image is served whole (the baseline the faults below break)', async () => {
    const served = await fetchVerifiedImage(proxy());
    expect(served.manifest.headers['instance-digest']).to.equal(image.manifest.digest);
    expect(served.blobs.get(layer().digest)!.length).to.equal(layer().bytes.length);
  });

  it('a connection reset mid-blob is resumed with Range: the full body arrives and verifies', async () => {
    const cut = 512 * 1024;
    inject(isLayerGet, faults.resetAfter(layer().bytes, cut));
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete]).to.deep.equal([200, true]);
    expect(digestOf(answer.body)).to.equal(layer().digest);
    // The resume starts where the received bytes end: at most the cut (a reset can drop bytes still in flight).
    const ranges = registry.requests.filter(isLayerGet).map((r) => r.headers.range);
    expect(ranges.length).to.equal(2);
    expect(ranges[0]).to.equal(undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(ranges[1]))?.[1]);
    expect(resumedAt).to.be.greaterThan(0).and.at.most(cut);
  });

  it('wrong bytes: the body stops short of Content-Length, the connection closes, the proxy exits non-zero naming the digest', async () => {
    const corrupt = Buffer.from(layer().bytes);
    corrupt[corrupt.length - 1]! ^= 0xff;
    inject(isLayerGet, faults.bytes(corrupt, { 'content-type': 'application/octet-stream' }));
    const running = proxy();
    const answer = await running.request('GET', `/blobs/${layer().digest}`);
    expect(answer.complete, 'a corrupt body is never delivered whole').to.equal(false);
    expect(answer.body.length).to.be.lessThan(layer().bytes.length);
    if (answer.headers['content-length'] !== undefined) expect(Number(answer.headers['content-length'])).to.equal(layer().bytes.length);
    const exit = await running.exited;
    expect(exit.code).to.not.equal(0);
    expect(running.stderr()).to.include(layer().digest);
    expect(running.stderr()).to.match(/digest/i);
  });

  it('429 with Retry-After: 1 is waited out and the blob is served', async () => {
    inject(isLayerGet, faults.tooManyRequests('1'));
    const started = Date.now();
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, digestOf(answer.body)]).to.deep.equal([200, layer().digest]);
    expect(Date.now() - started).to.be.at.least(900);
    expect(registry.requests.filter(isLayerGet)).to.have.length(2);
  });

  it('a 5xx answer to the manifest: error JSON "registry-error" with the upstream message, and the connection stays usable', async () => {
    inject(isManifestGet, faults.status(503, registryErrorBody('UNAVAILABLE', 'maintenance window')), 50);
    // Retried 503s are retries.test.ts's subject; here the answer after the last one is.
    const running = proxy('--retry-times', '0');
    const first = await running.request('GET', '/manifest');
    expect(first.status).to.equal(502);
    expect(errorOf(first).code).to.equal('registry-error');
    expect(errorOf(first).message).to.include('maintenance window');
    const again = await running.request('GET', '/manifest');
    expect(errorOf(again).code, 'a second request on the same connection is answered').to.equal('registry-error');
    expect(running.child.exitCode).to.equal(null);
  });

  it('a registry that never answers the manifest: "timeout" error within a few seconds with --idle-timeout 1s', async () => {
    inject(isManifestGet, faults.silence(), 50);
    const started = Date.now();
    // A headers timeout is retried like any passing failure; here the timeout alone is measured.
    const answer = await proxy('--idle-timeout', '1s', '--retry-times', '0').request('GET', '/manifest');
    expect(Date.now() - started).to.be.below(8000);
    expect(answer.status, answer.body.toString()).to.equal(504);
    expect(errorOf(answer).code).to.equal('timeout');
    expect(errorOf(answer).message).to.include(registry.host);
  });

  it('a blob that stalls mid-body: an incomplete body within a few seconds with --idle-timeout 1s, never a hang', async () => {
    inject(isLayerGet, faults.stallAfter(layer().bytes, 64 * 1024), 50);
    const started = Date.now();
    const running = proxy('--idle-timeout', '1s');
    const answer = await running.request('GET', `/blobs/${layer().digest}`);
    expect(Date.now() - started).to.be.below(8000);
    expect(answer.complete).to.equal(false);
    expect(answer.body.length).to.be.lessThan(layer().bytes.length);
    await running.exited;
    expect(running.stderr(), 'stderr says why the body ended').to.match(/stalled|no body data/);
    expect(running.stderr()).to.include(registry.host);
  });

  it('a blob redirected to another host is served, and that host never sees the Authorization header', async () => {
    inject(isLayerGet, faults.redirect(`${otherHost.url}/v2/${REPOSITORY}/blobs/${layer().digest}`));
    const answer = await proxy().request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, digestOf(answer.body)]).to.deep.equal([200, layer().digest]);
    expect(registry.requests.filter(isLayerGet).map((r) => r.headers.authorization)).to.deep.equal([
      `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
    ]);
    expect(otherHost.requests).to.have.length.at.least(1);
    for (const request of otherHost.requests) expect(request.headers.authorization, request.url).to.equal(undefined);
  });
});
