import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { FakeRegistry, faults, registryErrorBody, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { quitAndReadStderr } from './log-lines.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * Retries of transient registry failures through the real CLI, against the fault-injecting
 * registry: what passes is served, what persists is reported after exactly the retries asked
 * for and the backoff they imply, and what cannot pass (4xx) is never retried.
 */

const REPOSITORY = 'retries/app';

describe('retries end to end: transient registry failures', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let workDir: string;
  let image: FixtureImage;
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  const proxy = (...options: string[]) => pool.start('--tls-verify=false', ...options, dockerReference(registry.host, REPOSITORY, 'v1'));
  const isManifestGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url === `/v2/${REPOSITORY}/manifests/v1`;
  const layer = () => image.layers[0]!;
  const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url === `/v2/${REPOSITORY}/blobs/${layer().digest}`;
  const resetBeforeAnswering = (_req: unknown, res: { socket: { destroy(): void } | null }) => void res.socket?.destroy();

  beforeEach(async () => {
    workDir = makeTempDir('e2e-retries');
    image = standardFixtures().ociSingle;
    registry = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
  });
  afterEach(async () => {
    await pool.disposeAll();
    await registry.close();
    removeTempDir(workDir);
  });

  it('a registry that fails twice with 503, then serves: the image is served, after 3 manifest requests', async () => {
    registry.inject(isManifestGet, faults.status(503, registryErrorBody('UNAVAILABLE', 'warming up')), 2);
    const served = await fetchVerifiedImage(proxy('--retry-delay', '50ms'));
    expect(served.manifest.headers['instance-digest']).to.equal(image.manifest.digest);
    expect(registry.requests.filter(isManifestGet)).to.have.length(3);
  });

  it('a blob whose connection is reset twice before any answer, then served: the blob arrives whole', async () => {
    registry.inject(isLayerGet, resetBeforeAnswering, 2);
    const answer = await proxy('--retry-delay', '50ms').request('GET', `/blobs/${layer().digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, layer().digest]);
    expect(registry.requests.filter(isLayerGet)).to.have.length(3);
  });

  it('a registry that keeps failing: the last error after exactly --retry-times retries, within the backoff they imply', async () => {
    registry.inject(isManifestGet, faults.status(502, registryErrorBody('UNAVAILABLE', 'still down')), 100);
    const started = Date.now();
    const answer = await proxy('--retry-times', '2', '--retry-delay', '200ms').request('GET', '/manifest');
    const elapsed = Date.now() - started;
    expect(answer.status).to.equal(502);
    expect(errorOf(answer)).to.deep.include({ code: 'registry-error' });
    expect(errorOf(answer).message).to.include('still down');
    expect(registry.requests.filter(isManifestGet)).to.have.length(3);
    // Waits of 200 and 400 ms; well under the next doubling had a third retry happened.
    expect(elapsed)
      .to.be.at.least(600)
      .and.below(600 + 800 + 2000);
  });

  it('the default is 3 retries from 1 s, doubling: a persistent reset fails after 4 attempts and about 7 s', async function () {
    this.timeout(20_000);
    registry.inject(isLayerGet, resetBeforeAnswering, 100);
    const running = proxy();
    expect((await running.request('GET', '/manifest')).status).to.equal(200);
    const started = Date.now();
    const answer = await running.request('GET', `/blobs/${layer().digest}`);
    const elapsed = Date.now() - started;
    expect(errorOf(answer).code).to.equal('network');
    expect(registry.requests.filter(isLayerGet)).to.have.length(4);
    expect(elapsed)
      .to.be.at.least(7000)
      .and.below(7000 + 3000);
  });

  it('--retry-times 0 sends each request once', async () => {
    registry.inject(isManifestGet, faults.status(503), 100);
    const answer = await proxy('--retry-times', '0').request('GET', '/manifest');
    expect(errorOf(answer).code).to.equal('registry-error');
    expect(registry.requests.filter(isManifestGet)).to.have.length(1);
  });

  it('a registry that is down (connection refused) is retried, then reported as "network"', async () => {
    const down = await FakeRegistry.start();
    const host = down.host;
    await down.close();
    const started = Date.now();
    const answer = await pool.start('--retry-times', '1', '--retry-delay', '300ms', dockerReference(host, REPOSITORY, 'v1')).request('GET', '/manifest');
    expect(errorOf(answer).code).to.equal('network');
    expect(errorOf(answer).message).to.include('ECONNREFUSED');
    expect(Date.now() - started).to.be.at.least(300);
  });

  it('a registry that is down: each retry warning and the final error name the request once', async () => {
    const down = await FakeRegistry.start();
    const host = down.host;
    await down.close();
    const running = pool.start('--retry-times', '2', '--retry-delay', '10ms', dockerReference(host, REPOSITORY, 'v1'));
    const answer = await running.request('GET', '/manifest');
    const stderr = await quitAndReadStderr(running);
    const message = errorOf(answer).message;
    expect(message).to.equal(`ping /v2/: connection to ${host} failed: connect ECONNREFUSED ${host}`);
    const warnings = stderr.split('\n').filter((line) => line.includes('; retry '));
    expect(warnings).to.deep.equal([1, 2].map((n) => `container-image-proxy: ${message}; retry ${n} of 2 in ${10 * 2 ** (n - 1)} ms`));
  });

  it('a registry that is down, tried over https and then http: each attempt says its scheme once, the error joins them', async () => {
    const down = await FakeRegistry.start();
    const host = down.host;
    await down.close();
    const running = pool.start('--tls-verify=false', '--retry-times', '1', '--retry-delay', '10ms', dockerReference(host, REPOSITORY, 'v1'));
    const answer = await running.request('GET', '/manifest');
    const stderr = await quitAndReadStderr(running);
    const refused = (scheme: string) => `ping /v2/ over ${scheme}: connection to ${host} failed: connect ECONNREFUSED ${host}`;
    expect(errorOf(answer)).to.deep.equal({ code: 'network', message: `${refused('https')}; ${refused('http')}` });
    const warnings = stderr.split('\n').filter((line) => line.includes('; retry '));
    expect(warnings).to.deep.equal(['https', 'http'].map((scheme) => `container-image-proxy: ${refused(scheme)}; retry 1 of 1 in 10 ms`));
  });

  for (const status of [401, 403, 404]) {
    it(`a ${status} is never retried`, async () => {
      registry.inject(isManifestGet, faults.status(status), 100);
      const answer = await proxy('--retry-delay', '50ms').request('GET', '/manifest');
      expect(answer.status).to.be.within(400, 499);
      expect(registry.requests.filter(isManifestGet)).to.have.length(1);
    });
  }
});
