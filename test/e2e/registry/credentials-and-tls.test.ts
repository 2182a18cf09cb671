import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { type ProxyProcess } from '../../support/spawn-proxy.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * docker:// through the CLI against real registries that want something: htpasswd Basic auth
 * (every way of passing credentials) and TLS with a CA made by the test.
 */

const USER = 'alice';
const PASSWORD = 'alice-Pa55-w0rd-e2e';
const WRONG_PASSWORD = 'not-alice-Wr0ng-e2e';

function expectServedImage(image: Awaited<ReturnType<typeof fetchVerifiedImage>>, fixture: FixtureImage): void {
  expect(image.manifest.headers['instance-digest']).to.equal(fixture.manifest.digest);
  expect(image.parsed.layers.map((l) => l.digest)).to.deep.equal(fixture.layers.map((l) => l.digest));
  if (fixture.format === 'oci') expect(image.manifest.body.equals(Buffer.from(fixture.manifest.bytes))).to.equal(true);
}

async function expectManifestError(proxy: ProxyProcess, code: string, ...mentions: string[]): Promise<string> {
  const answer = await proxy.request('GET', '/manifest');
  expect(answer.status, answer.body.toString()).to.be.within(400, 599);
  const body = errorOf(answer);
  expect(body.code, body.message).to.equal(code);
  for (const text of mentions) expect(body.message).to.include(text);
  return answer.body.toString();
}

describe('docker:// end to end: htpasswd credentials against a real registry', function () {
  this.timeout(60_000);
  const registry = useRegistry(
    { kind: 'htpasswd', users: [{ user: USER, pass: PASSWORD }] },
    { tempDir: 'e2e-registry-htpasswd', images: () => ({ 'private/single:v1': fixture() }) },
  );
  let reference: string;
  const fixture = (): FixtureImage => standardFixtures().ociSingle;
  let extraEnv: NodeJS.ProcessEnv = {};
  const pool = new ProxyPool(() => isolatedEnv(registry.workDir, extraEnv));

  before(() => {
    reference = dockerReference(registry.host, 'private/single', 'v1');
  });
  afterEach(async () => {
    extraEnv = {};
    await pool.disposeAll();
  });

  function writeAuthFile(name: string, password: string): string {
    const path = join(registry.workDir, name);
    writeFileSync(path, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } } }));
    return path;
  }

  const accepted: readonly { name: string; args: () => string[]; env?: () => NodeJS.ProcessEnv }[] = [
    { name: '--creds USER:PASS', args: () => ['--creds', `${USER}:${PASSWORD}`] },
    { name: '--username/--password', args: () => ['--username', USER, '--password', PASSWORD] },
    { name: '--authfile with an auth.json', args: () => ['--authfile', writeAuthFile('auth.json', PASSWORD)] },
    { name: 'REGISTRY_AUTH_FILE', args: () => [], env: () => ({ REGISTRY_AUTH_FILE: writeAuthFile('env-auth.json', PASSWORD) }) },
  ];
  for (const { name, args, env } of accepted) {
    it(`${name}: the whole image is served and verified`, async () => {
      if (env) extraEnv = env();
      const proxy = pool.start('--tls-verify=false', ...args(), reference);
      expectServedImage(await fetchVerifiedImage(proxy), fixture());
    });
  }

  const refused: readonly { name: string; args: () => string[] }[] = [
    { name: '--creds with a wrong password', args: () => ['--creds', `${USER}:${WRONG_PASSWORD}`] },
    { name: '--authfile with a wrong password', args: () => ['--authfile', writeAuthFile('wrong-auth.json', WRONG_PASSWORD)] },
    { name: '--no-creds', args: () => ['--no-creds'] },
    { name: '--debug with --creds and a wrong password', args: () => ['--debug', '--creds', `${USER}:${WRONG_PASSWORD}`] },
  ];
  for (const { name, args } of refused) {
    it(`${name}: error JSON "unauthorized" naming the registry, no password in body or stderr`, async () => {
      const proxy = pool.start('--tls-verify=false', ...args(), reference);
      const body = await expectManifestError(proxy, 'unauthorized', registry.host);
      expect(errorOf(await proxy.request('GET', '/config')).code, 'the connection stays usable').to.equal('unauthorized');
      for (const secret of [WRONG_PASSWORD, PASSWORD, Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64')]) {
        expect(body).to.not.include(secret);
        expect(proxy.stderr()).to.not.include(secret);
      }
    });
  }
});

describe('docker:// end to end: TLS with a test CA against a real registry', function () {
  this.timeout(60_000);
  const registry = useRegistry({ kind: 'tls' }, { tempDir: 'e2e-registry-tls', images: () => ({ 'secure/single:v1': fixture() }) });
  let reference: string;
  let home: NodeJS.ProcessEnv = {};
  const fixture = (): FixtureImage => standardFixtures().dockerSingle;
  const pool = new ProxyPool(() => isolatedEnv(registry.workDir, home));

  before(() => {
    reference = dockerReference(registry.host, 'secure/single', 'v1');
  });
  afterEach(async () => {
    home = {};
    await pool.disposeAll();
  });

  it('--cert-dir with the test CA: served and verified', async () => {
    expectServedImage(await fetchVerifiedImage(pool.start('--cert-dir', registry.certDir!, reference)), fixture());
  });

  it('the CA in ~/.config/containers/certs.d/HOST:PORT/: served and verified', async () => {
    const homeDir = join(registry.workDir, 'certs-home');
    const hostDir = join(homeDir, '.config', 'containers', 'certs.d', registry.host);
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, 'ca.crt'), registry.caPem!);
    home = { HOME: homeDir };
    expectServedImage(await fetchVerifiedImage(pool.start(reference)), fixture());
  });

  it('--tls-verify=false: served over https without checking the certificate', async () => {
    expectServedImage(await fetchVerifiedImage(pool.start('--tls-verify=false', reference)), fixture());
  });

  it('without the CA: error JSON "network" naming the host and the certificate problem', async () => {
    const proxy = pool.start(reference);
    await expectManifestError(proxy, 'network', registry.host, 'TLS');
    const message = errorOf(await proxy.request('GET', '/manifest')).message;
    expect(message).to.match(/certificate/i);
  });

  it('a --cert-dir without the CA (an empty directory) is not trusted either', async () => {
    const empty = join(registry.workDir, 'empty-cert-dir');
    mkdirSync(empty, { recursive: true });
    await expectManifestError(pool.start('--cert-dir', empty, reference), 'network', registry.host);
  });
});
