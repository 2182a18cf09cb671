import { expect } from 'chai';
import { FakeRegistry, faults } from '../../support/fake-registry.js';
import { REPO, collect, dockerRef, expectCode, makeTransport, rejection, storeImage } from './helpers.js';

describe('distribution: retries of 429 and other passing failures', function () {
  let registry: FakeRegistry;
  let cleanup: () => Promise<void>;
  let transport: ReturnType<typeof makeTransport>['transport'];

  beforeEach(async () => {
    registry = await FakeRegistry.start();
    ({ transport, cleanup } = makeTransport());
  });
  afterEach(async () => {
    await cleanup();
    await registry.close();
  });

  const manifestRequests = (): ReturnType<FakeRegistry['requestsTo']> => registry.requestsTo(/\/manifests\//);
  const isManifest = (r: { url: string }): boolean => r.url.includes('/manifests/');

  const waits: readonly [string, () => string, number][] = [
    ['Retry-After in seconds', () => '1', 1000],
    // HTTP dates have 1 s resolution: 2 s ahead is a wait of more than 1 s.
    ['Retry-After as an HTTP date', () => new Date(Date.now() + 2000).toUTCString(), 1000],
  ];
  for (const [what, header, atLeastMs] of waits) {
    it(`waits as ${what} says, then succeeds`, async () => {
      storeImage(registry);
      registry.inject(isManifest, faults.tooManyRequests(header()));
      const started = Date.now();
      await transport.open(dockerRef(registry), {});
      expect(Date.now() - started).to.be.at.least(atLeastMs - 50);
      expect(manifestRequests()).to.have.length(2);
    });
  }

  it('backs off without Retry-After (doubling from the initial delay)', async () => {
    storeImage(registry);
    registry.inject(isManifest, faults.tooManyRequests(), 3);
    const started = Date.now();
    await transport.open(dockerRef(registry), {});
    expect(Date.now() - started).to.be.at.least(10 + 20 + 40 - 5);
    expect(manifestRequests()).to.have.length(4);
  });

  it('gives up after 3 retries (4 attempts) by default with too-many-requests', async () => {
    storeImage(registry);
    registry.inject(isManifest, faults.tooManyRequests('0'), 10);
    const err = await expectCode(transport.open(dockerRef(registry), {}), 'too-many-requests');
    expect((err as { upstreamCode?: string }).upstreamCode).to.equal('TOOMANYREQUESTS');
    expect(manifestRequests()).to.have.length(4);
  });

  it('retries a connection reset before any answer, then succeeds', async () => {
    storeImage(registry);
    registry.inject(isManifest, (_req, res) => void res.socket?.destroy(), 2);
    await transport.open(dockerRef(registry), {});
    expect(manifestRequests()).to.have.length(3);
  });

  it('retries connection refused as many times as asked, then reports it', async () => {
    const closed = await FakeRegistry.start();
    const host = closed.host;
    await closed.close();
    const counted = makeTransport({ retry: { maxRetries: 2, initialDelayMs: 50 } });
    try {
      const started = Date.now();
      const err = await expectCode(counted.transport.open({ transport: 'docker', docker: { domain: host, path: REPO, tag: 'v1' } }, {}), 'network');
      expect(err.message).to.include('ECONNREFUSED');
      // https then http (the source is insecure), each tried 3 times: waits of 50 + 100 ms twice.
      expect(Date.now() - started).to.be.at.least(2 * 150 - 10);
    } finally {
      await counted.cleanup();
    }
  });

  for (const status of [400, 403, 404]) {
    it(`never retries a ${status}`, async () => {
      storeImage(registry);
      registry.inject(isManifest, faults.status(status), 10);
      await rejection(transport.open(dockerRef(registry), {}));
      expect(manifestRequests()).to.have.length(1);
    });
  }

  it('caps a long Retry-After at the policy maximum', async () => {
    storeImage(registry);
    const capped = makeTransport({ retry: { maxDelayMs: 100 } });
    try {
      registry.inject(isManifest, faults.tooManyRequests('3600'));
      const started = Date.now();
      await capped.transport.open(dockerRef(registry), {});
      expect(Date.now() - started).to.be.below(2000);
    } finally {
      await capped.cleanup();
    }
  });

  it('retries a 429 on a blob too', async () => {
    const { layer } = storeImage(registry, Buffer.from('blob after a 429'));
    const source = await transport.open(dockerRef(registry), {});
    registry.inject((r) => r.url === `/v2/${REPO}/blobs/${layer}`, faults.tooManyRequests('0'));
    expect((await collect((await source.blob({ digest: layer })).stream)).toString()).to.equal('blob after a 429');
  });
});
