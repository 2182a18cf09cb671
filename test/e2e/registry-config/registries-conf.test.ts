import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { freePort } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from '../registry/proxy-session.js';

/**
 * registries.conf through the real CLI: mirrors tried before a primary that is down (a closed
 * port), mirror-by-digest-only, blocked registries; the file given by flag and by variable.
 */
describe('registries.conf end to end: mirrors and blocked registries against a real registry', function () {
  this.timeout(60_000);
  const fixture = (): FixtureImage => standardFixtures().ociSingle;
  const mirror = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-registries-conf', images: () => ({ 'e2e/app:v1': fixture() }) });
  let downHost: string;
  let otherDownHost: string;
  let extraEnv: NodeJS.ProcessEnv = {};
  const pool = new ProxyPool(() => isolatedEnv(mirror.workDir, extraEnv));

  before(async () => {
    // Nothing listens on these: a registry that is down.
    downHost = `127.0.0.1:${await freePort()}`;
    otherDownHost = `127.0.0.1:${await freePort()}`;
  });
  afterEach(async () => {
    extraEnv = {};
    await pool.disposeAll();
  });

  function writeConf(name: string, text: string): string {
    const path = join(mirror.workDir, name);
    writeFileSync(path, text);
    return path;
  }

  const mirrored = (extra = '') => `
[[registry]]
location = "${downHost}"
insecure = true
${extra}
[[registry.mirror]]
location = "${mirror.host}"
insecure = true
`;

  it('a tag is served by the mirror while the primary is down (--registries-conf)', async () => {
    const proxy = pool.start('--registries-conf', writeConf('mirror.conf', mirrored()), dockerReference(downHost, 'e2e/app', 'v1'));
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(fixture().manifest.digest);
  });

  it('the same through CONTAINERS_REGISTRIES_CONF', async () => {
    extraEnv = { CONTAINERS_REGISTRIES_CONF: writeConf('env-mirror.conf', mirrored()) };
    await fetchVerifiedImage(pool.start(dockerReference(downHost, 'e2e/app', 'v1')));
  });

  it('the same through REGISTRIES_CONFIG_PATH', async () => {
    extraEnv = { REGISTRIES_CONFIG_PATH: writeConf('legacy-env-mirror.conf', mirrored()) };
    await fetchVerifiedImage(pool.start(dockerReference(downHost, 'e2e/app', 'v1')));
  });

  it('mirror-by-digest-only: a digest is served by the mirror', async () => {
    const conf = writeConf('by-digest.conf', mirrored('mirror-by-digest-only = true'));
    const proxy = pool.start('--registries-conf', conf, `docker://${downHost}/e2e/app@${fixture().manifest.digest}`);
    await fetchVerifiedImage(proxy);
  });

  it("mirror-by-digest-only: a tag goes to the primary only, and fails with the primary's error", async () => {
    const conf = writeConf('by-digest-tag.conf', mirrored('mirror-by-digest-only = true'));
    const answer = await pool.start('--registries-conf', conf, dockerReference(downHost, 'e2e/app', 'v1')).request('GET', '/manifest');
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('network');
    expect(body.message).to.include(downHost).and.not.include(mirror.host);
  });

  it("all sources down: the primary's error first, then what the mirrors said", async () => {
    const conf = writeConf(
      'all-down.conf',
      `[[registry]]\nlocation = "${downHost}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${otherDownHost}"\ninsecure = true\n`,
    );
    const body = errorOf(await pool.start('--registries-conf', conf, dockerReference(downHost, 'e2e/app', 'v1')).request('GET', '/manifest'));
    expect(body.code, body.message).to.equal('network');
    expect(body.message.indexOf(downHost)).to.be.below(body.message.indexOf('mirrors also failed'));
    expect(body.message).to.include(`[docker://${otherDownHost}/e2e/app:v1:`);
  });

  it('a blocked registry is refused: 403, code "blocked", naming the image', async () => {
    const conf = writeConf('blocked.conf', `[[registry]]\nlocation = "${mirror.host}"\nblocked = true\n`);
    const answer = await pool.start('--tls-verify=false', '--registries-conf', conf, dockerReference(mirror.host, 'e2e/app', 'v1')).request('GET', '/manifest');
    expect(answer.status).to.equal(403);
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('blocked');
    expect(body.message).to.include(`${mirror.host}/e2e/app`).and.include('blocked');
  });

  it('a blocked primary is still served by a mirror that is not blocked', async () => {
    const conf = writeConf('blocked-primary.conf', mirrored('blocked = true'));
    await fetchVerifiedImage(pool.start('--registries-conf', conf, dockerReference(downHost, 'e2e/app', 'v1')));
  });

  it('a broken registries.conf: a clear config-invalid error naming the file, no crash', async () => {
    const conf = writeConf('broken.conf', '[[registry]\nlocation = "x"\n');
    const proxy = pool.start('--registries-conf', conf, dockerReference(mirror.host, 'e2e/app', 'v1'));
    const answer = await proxy.request('GET', '/manifest');
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('config-invalid');
    expect(body.message).to.include(conf).and.include('line 1');
  });
});
