import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../../src/domain/digest.js';
import { FakeRegistry, faults, type RecordedRequest } from '../../support/fake-registry.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import { errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from '../registry/proxy-session.js';
import { gpgAgentCleanup, gpgHome, type GpgHome } from '../signatures/gpg.js';
import { startLookasideServer, writeRegistriesD, type LookasideServer } from '../signatures/lookaside-helpers.js';

/**
 * A registry host is used exactly as written, through the real CLI against an in-process
 * registry on 127.0.0.1: spellings Node's URL parser would turn into 127.0.0.1 (or another
 * port) are refused with an error naming them, so neither a registries.conf block nor a
 * policy.json scope written for `127.0.0.1:PORT` can be escaped, and the same holds for hosts
 * that come from the registry (redirects, token realms, foreign layers) and from registries.d.
 */

const REPOSITORY = 'e2e/app';

/** Spellings of `127.0.0.1:port` that WHATWG URL reads as that address but name another host. */
function otherSpellings(port: number): string[] {
  return ['2130706433', '0x7f000001', '127.1', '0x7f.1', '017700000001', '0177.0.0.1'].map((host) => `${host}:${port}`).concat(`127.0.0.1:0${port}`);
}

const image = (host: string, tag = 'v1'): string => `docker://${host}/${REPOSITORY}:${tag}`;
const manifestOf = (name: string): string => `/manifest?image=${encodeURIComponent(name)}`;

describe('host names end to end: a registry host means what it says', function () {
  this.timeout(60_000);
  const fixture = standardFixtures().ociSingle;
  const layer = () => fixture.layers[0]!;
  let registry: FakeRegistry;
  let other: FakeRegistry;
  let workDir: string;
  let gpg: GpgHome;
  let keyPath: string;
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  const running: ProxyProcess[] = [];
  const port = (fake: FakeRegistry): number => Number(fake.host.split(':')[1]);

  before(async () => {
    workDir = makeTempDir('e2e-written-hosts');
    registry = await FakeRegistry.start();
    other = await FakeRegistry.start();
    registry.putManifest(REPOSITORY, fixture.manifest.bytes, fixture.manifest.mediaType, 'v1');
    for (const blob of [fixture.config, ...fixture.layers]) {
      registry.putBlob(REPOSITORY, blob.bytes);
      other.putBlob(REPOSITORY, blob.bytes);
    }
    gpg = gpgHome(join(workDir, 'gnupg'));
    keyPath = join(workDir, 'trusted.gpg');
    await gpg.exportPublic(await gpg.generate('Written Hosts <hosts@example.com>'), keyPath);
  });
  beforeEach(() => {
    registry.requests.length = 0;
    other.requests.length = 0;
  });
  afterEach(async () => {
    await pool.disposeAll();
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });
  after(async () => {
    await registry?.close();
    await other?.close();
    if (gpg !== undefined) await gpgAgentCleanup(gpg);
    if (workDir) removeTempDir(workDir);
  });

  function writeFile(name: string, text: string): string {
    const path = join(workDir, name);
    writeFileSync(path, text);
    return path;
  }

  /** Each spelling is refused before any request, naming itself and the address Node would reach. */
  async function expectSpellingsRefused(proxy: ProxyProcess): Promise<void> {
    for (const spelling of otherSpellings(port(registry))) {
      const answer = await proxy.request('GET', manifestOf(image(spelling)));
      const body = errorOf(answer);
      expect([answer.status, body.code], body.message).to.deep.equal([400, 'invalid-reference']);
      expect(body.message).to.include(`"${spelling}"`);
      expect(body.message).to.match(/127\.0\.0\.1|port/);
    }
    expect(registry.requests.map((r) => r.url)).to.deep.equal([]);
  }

  it('the registry as 127.0.0.1:PORT is served (the control for the spellings below)', async () => {
    const served = await fetchVerifiedImage(pool.start('--tls-verify=false', image(registry.host)));
    expect(served.manifest.headers['instance-digest']).to.equal(fixture.manifest.digest);
  });

  it('registries.conf blocks 127.0.0.1:PORT: every other spelling of it is refused, the registry never contacted', async () => {
    const conf = writeFile('blocked.conf', `[[registry]]\nlocation = "${registry.host}"\nblocked = true\n`);
    const proxy = pool.start('--tls-verify=false', '--registries-conf', conf);
    const blocked = await proxy.request('GET', manifestOf(image(registry.host)));
    expect([blocked.status, errorOf(blocked).code]).to.deep.equal([403, 'blocked']);
    await expectSpellingsRefused(proxy);
  });

  it('policy.json requires signedBy for 127.0.0.1:PORT and accepts anything else: no spelling escapes the scope', async () => {
    const policy = writeFile(
      'policy.json',
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: { docker: { [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath }] } },
      }),
    );
    const proxy = spawnProxy(['--tls-verify=false', '--policy', policy], { env: isolatedEnv(workDir) });
    running.push(proxy);
    const unsigned = await proxy.request('GET', manifestOf(image(registry.host)));
    expect([unsigned.status, errorOf(unsigned).code], errorOf(unsigned).message).to.deep.equal([403, 'policy-rejected']);
    registry.requests.length = 0;
    await expectSpellingsRefused(proxy);
  });

  describe('hosts the registry names', () => {
    const blobPath = () => `/v2/${REPOSITORY}/blobs/${layer().digest}`;
    const isLayerGet = (req: RecordedRequest): boolean => req.method === 'GET' && req.url === blobPath();

    it('a redirect to another spelling of a host is refused; the same redirect written plainly is followed', async () => {
      const proxy = pool.start('--tls-verify=false', image(registry.host));
      const targets = [
        ...otherSpellings(port(other)).map((host) => `http://${host}`),
        `http://[::ffff:127.0.0.1]:${port(other)}`,
        `HTTP://0x7F.1:${port(other)}`,
      ];
      for (const target of targets) {
        registry.inject(isLayerGet, faults.redirect(`${target}${blobPath()}`));
        const answer = await proxy.request('GET', `/blobs/${layer().digest}`);
        const body = errorOf(answer);
        expect([answer.status, body.code], `${target}: ${body.message}`).to.deep.equal([502, 'registry-error']);
        expect(body.message).to.include('redirected').and.include('is refused');
      }
      // Scheme-relative and backslash forms name a host too.
      for (const location of [`//2130706433:${port(other)}${blobPath()}`, `http:\\\\2130706433:${port(other)}${blobPath()}`]) {
        registry.inject(isLayerGet, faults.redirect(location));
        const body = errorOf(await proxy.request('GET', `/blobs/${layer().digest}`));
        expect(body.code, `${location}: ${body.message}`).to.equal('registry-error');
      }
      expect(other.requests.map((r) => r.url)).to.deep.equal([]);

      registry.inject(isLayerGet, faults.redirect(`http://${other.host}${blobPath()}`));
      const followed = await proxy.request('GET', `/blobs/${layer().digest}`);
      expect([followed.status, followed.complete]).to.deep.equal([200, true]);
      expect(digestOf(followed.body)).to.equal(layer().digest);
      expect(other.requests.map((r) => r.url)).to.deep.equal([blobPath()]);
    });

    it('a token realm spelled as a numeric IPv4 form is refused; no token is asked for', async () => {
      const bearer = await FakeRegistry.start({ kind: 'bearer', service: 'written-hosts' });
      try {
        bearer.putManifest(REPOSITORY, fixture.manifest.bytes, fixture.manifest.mediaType, 'v1');
        bearer.putBlob(REPOSITORY, fixture.config.bytes);
        const realm = `http://2130706433:${port(bearer)}/token`;
        bearer.inject((req) => req.url === '/v2/', faults.status(401, {}, { 'www-authenticate': `Bearer realm="${realm}",service="written-hosts"` }));
        const refused = await pool.start('--tls-verify=false', image(bearer.host)).request('GET', '/manifest');
        const body = errorOf(refused);
        expect([refused.status, body.code], body.message).to.deep.equal([502, 'registry-error']);
        expect(body.message).to.include('realm').and.include('"2130706433:').and.include('127.0.0.1');
        expect(bearer.requestsTo(/^\/token$/)).to.deep.equal([]);
        // The registry's own realm, written plainly, works.
        const served = await pool.start('--tls-verify=false', image(bearer.host)).request('GET', '/manifest');
        expect(served.status, served.body.toString()).to.equal(200);
        expect(bearer.requestsTo(/^\/token$/).length).to.equal(1);
      } finally {
        await bearer.close();
      }
    });

    it('a foreign-layer URL naming another spelling of a host is not followed; the registry serves the layer', async () => {
      const manifest = JSON.parse(Buffer.from(fixture.manifest.bytes).toString('utf8')) as { layers: { urls?: string[] }[] };
      manifest.layers[0]!.urls = [`http://2130706433:${port(other)}${blobPath()}`];
      const bytes = Buffer.from(JSON.stringify(manifest));
      registry.putManifest(REPOSITORY, bytes, fixture.manifest.mediaType, 'foreign');
      const proxy = pool.start('--tls-verify=false', image(registry.host, 'foreign'));
      const answer = await proxy.request('GET', `/blobs/${layer().digest}`);
      expect([answer.status, answer.complete], answer.body.toString().slice(0, 200)).to.deep.equal([200, true]);
      expect(digestOf(answer.body)).to.equal(layer().digest);
      expect(other.requests.map((r) => r.url)).to.deep.equal([]);
      expect(registry.requests.filter(isLayerGet).length).to.equal(1);
    });
  });

  it('a registries.d lookaside URL spelled as a numeric IPv4 form is refused with policy-invalid; nothing is fetched', async () => {
    const server: LookasideServer = await startLookasideServer(join(workDir, 'sigs'));
    try {
      const lookaside = server.base.replace('127.0.0.1', '2130706433');
      const registriesD = writeRegistriesD(join(workDir, 'registries.d'), { [registry.host]: lookaside });
      const policy = writeFile('lookaside-policy.json', JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath }] }));
      const proxy = spawnProxy(['--tls-verify=false', '--policy', policy, '--registries.d', registriesD, image(registry.host)], { env: isolatedEnv(workDir) });
      running.push(proxy);
      const answer = await proxy.request('GET', '/manifest');
      const body = errorOf(answer);
      expect([answer.status, body.code], body.message).to.deep.equal([500, 'policy-invalid']);
      expect(body.message).to.include('lookaside').and.include('"2130706433:');
      expect(server.requested).to.deep.equal([]);
    } finally {
      await server.stop();
    }
  });
});
