import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { apiHost } from '../../../src/adapters/distribution/distribution-transport.js';
import { type TlsOptions } from '../../../src/adapters/distribution/dispatchers.js';
import { FakeRegistry, faults } from '../../support/fake-registry.js';
import { type TestPki, makeTestPki } from '../../support/registry/certs.js';
import { REPO, dockerRef, expectCode, makeTransport, storeImage } from './helpers.js';

describe('distribution: ping and scheme', function () {
  let registry: FakeRegistry;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    registry = await FakeRegistry.start({ kind: 'basic', username: 'u', password: 'p' });
    storeImage(registry);
  });
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    await registry.close();
  });

  function transport(overrides: Parameters<typeof makeTransport>[0] = {}): ReturnType<typeof makeTransport>['transport'] {
    const made = makeTransport({ creds: { username: 'u', password: 'p' }, ...overrides });
    cleanups.push(made.cleanup);
    return made.transport;
  }

  const hosts: readonly [string, string][] = [
    ['docker.io', 'registry-1.docker.io'],
    ['quay.io', 'quay.io'],
    ['localhost:5000', 'localhost:5000'],
  ];
  for (const [domain, host] of hosts) {
    it(`reaches ${domain} at ${host}`, () => expect(apiHost(domain)).to.equal(host));
  }

  const secureCases: readonly [string, boolean | undefined, boolean][] = [
    ['a secure source (no localhost exception)', undefined, false],
    ['an insecure source when --tls-verify=true overrides it', true, true],
  ];
  for (const [what, tlsVerify, insecure] of secureCases) {
    it(`never falls back to http for ${what}`, async () => {
      const err = await expectCode(transport({ tlsVerify }).open(dockerRef(registry), { insecure }), 'network');
      expect(err.message).to.include('TLS');
      expect(registry.requests).to.have.length(0);
    });
  }

  it('uses http for an insecure source', async () => {
    await transport({ tlsVerify: undefined }).open(dockerRef(registry), { insecure: true });
    expect(registry.requestsTo(/^\/v2\/$/)).to.have.length(1);
  });

  it('pings without credentials, once per host for every image opened', async () => {
    const t = transport();
    await t.open(dockerRef(registry), {});
    await t.open(dockerRef(registry, REPO, { tag: 'v1' }), {});
    const pings = registry.requestsTo(/^\/v2\/$/);
    expect(pings).to.have.length(1);
    expect(pings[0]!.headers.authorization).to.equal(undefined);
    expect(registry.requestsTo(/\/manifests\//)).to.have.length(2);
  });

  it('treats a /v2/ answer other than 200 or 401 as an error', async () => {
    registry.inject((r) => r.url === '/v2/', faults.status(404, 'nope'));
    const err = await expectCode(transport().open(dockerRef(registry), {}), 'registry-error');
    expect(err.message).to.include(registry.host).and.include('/v2/');
  });

  it('refuses to open a reference of another transport', async () => {
    await expectCode(transport().open({ transport: 'dir', path: '/tmp/x' }, {}), 'unsupported-transport');
  });
});

describe('distribution: TLS per host', function () {
  let dir: string;
  let pki: TestPki;
  let registry: FakeRegistry;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cip-dist-tls-'));
    pki = await makeTestPki(dir, '127.0.0.1', ['IP:127.0.0.1']);
    registry = await FakeRegistry.start({ kind: 'none' }, { cert: pki.certPem, key: pki.keyPem });
    storeImage(registry);
  });
  after(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function transport(tls: (host: string) => Promise<TlsOptions | undefined>, tlsVerify: boolean | undefined): ReturnType<typeof makeTransport>['transport'] {
    const made = makeTransport({ tls, tlsVerify });
    cleanups.push(made.cleanup);
    return made.transport;
  }

  it('trusts the CA the provider gives for that host', async () => {
    const asked: string[] = [];
    const t = transport(async (host) => {
      asked.push(host);
      return { ca: [pki.caPem] };
    }, undefined);
    const source = await t.open(dockerRef(registry), {});
    expect((await source.manifest(undefined)).bytes.length).to.be.above(0);
    expect(asked).to.deep.equal([registry.host]);
  });

  it('fails with a TLS network error without that CA', async () => {
    const err = await expectCode(transport(async () => undefined, undefined).open(dockerRef(registry), {}), 'network');
    expect(err.message).to.include('TLS').and.include(registry.host);
  });

  it('skips verification over https when --tls-verify=false', async () => {
    const source = await transport(async () => undefined, false).open(dockerRef(registry), {});
    expect(source.reference.transport).to.equal('docker');
  });
});
