import { type AddressInfo, type Socket, createServer } from 'node:net';
import { expect } from 'chai';
import { createRegistryAgent } from '../../../src/adapters/distribution/dispatchers.js';
import { FakeRegistry, faults } from '../../support/fake-registry.js';
import { REPO, collect, dockerRef, expectCode, makeTransport, patternBytes, rejection, storeImage } from './helpers.js';

describe('distribution: timeouts and aborts', function () {
  const IDLE_MS = 300;
  let registry: FakeRegistry;
  let cleanup: () => Promise<void>;
  let transport: ReturnType<typeof makeTransport>['transport'];

  beforeEach(async () => {
    registry = await FakeRegistry.start();
    // Timeouts are retried like other passing failures; here each must show on its own.
    ({ transport, cleanup } = makeTransport({ timeouts: { connectMs: 1000, idleMs: IDLE_MS }, retry: { maxRetries: 0 } }));
  });
  afterEach(async () => {
    await cleanup();
    await registry.close();
  });

  /** undici runs header and body timers on its coarse clock (ticks of ~0.5 s): allow two ticks late. */
  function expectAbout(elapsed: number, target: number): void {
    expect(elapsed).to.be.at.least(target - 20);
    expect(elapsed).to.be.below(target + 1500);
  }

  it('times out a request whose headers never come, naming the host', async () => {
    storeImage(registry);
    await transport.open(dockerRef(registry), {}); // pings now, so only the manifest request below can stall
    registry.inject((r) => r.url.includes('/manifests/'), faults.silence());
    const started = Date.now();
    const err = await expectCode(transport.open(dockerRef(registry), {}), 'timeout');
    expectAbout(Date.now() - started, IDLE_MS);
    expect(err.message).to.include(registry.host).and.include('no response headers');
  });

  it('fires the idle timeout mid-body in about the idle time', async () => {
    const bytes = patternBytes(100_000);
    const { layer } = storeImage(registry, bytes);
    const source = await transport.open(dockerRef(registry), {});
    registry.inject((r) => r.url === `/v2/${REPO}/blobs/${layer}`, faults.stallAfter(bytes, 10_000));
    const body = await source.blob({ digest: layer });
    const started = Date.now();
    const err = await rejection(collect(body.stream));
    expectAbout(Date.now() - started, IDLE_MS);
    expect((err as { code?: string }).code).to.equal('timeout');
    expect((err as Error).message)
      .to.include('stalled')
      .and.include(registry.host)
      .and.include(layer);
  });

  it('times out a stalled ping', async () => {
    registry.inject((r) => r.url === '/v2/', faults.silence());
    const started = Date.now();
    await expectCode(transport.open(dockerRef(registry), {}), 'timeout');
    expectAbout(Date.now() - started, IDLE_MS);
  });

  it('times out a TLS handshake that never completes, with the connect timeout', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const agent = createRegistryAgent({ connectMs: 400 });
    const secure = makeTransport({ dispatcher: agent, tlsVerify: undefined, timeouts: { connectMs: 400, idleMs: 5000 }, retry: { maxRetries: 0 } });
    try {
      const started = Date.now();
      const err = await expectCode(secure.transport.open({ transport: 'docker', docker: { domain: host, path: REPO, tag: 'v1' } }, {}), 'timeout');
      expectAbout(Date.now() - started, 400);
      expect(err.message).to.include(host).and.include('connecting');
    } finally {
      await secure.cleanup();
      await agent.close();
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails fast with network when nothing listens', async () => {
    const host = registry.host;
    await registry.close();
    const err = await expectCode(transport.open({ transport: 'docker', docker: { domain: host, path: REPO, tag: 'v1' } }, {}), 'network');
    expect(err.message).to.include(host);
    registry = await FakeRegistry.start();
  });

  it("rejects with the caller's abort reason when the signal fires mid-request", async () => {
    storeImage(registry);
    registry.inject((r) => r.url.includes('/manifests/'), faults.silence());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await rejection(transport.open(dockerRef(registry), {}, controller.signal));
    expect((err as Error).name).to.equal('AbortError');
  });

  it('abandons a 429 wait when aborted', async () => {
    storeImage(registry);
    registry.inject((r) => r.url.includes('/manifests/'), faults.tooManyRequests('30'));
    const retrying = makeTransport({ timeouts: { connectMs: 1000, idleMs: IDLE_MS } });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const err = await rejection(retrying.transport.open(dockerRef(registry), {}, controller.signal));
      expect((err as Error).name).to.equal('AbortError');
      expect(Date.now() - started).to.be.below(2000);
    } finally {
      await retrying.cleanup();
    }
  });
});
