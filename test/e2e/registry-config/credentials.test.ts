import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { freePort } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from '../registry/proxy-session.js';

/**
 * The full credential chain through the real CLI against an htpasswd registry: an auth file in
 * each default location, `credHelpers`, a registries.conf `credential-helpers` entry, a wrong
 * password, and command-line credentials kept away from a mirror on another domain. Every test
 * has its own HOME and XDG directories; secrets must never show in answers or stderr.
 */

const USER = 'carol';
const PASSWORD = 'carol-Pa55-registries-e2e';
const WRONG_PASSWORD = 'carol-Wr0ng-registries-e2e';
const HELPER = 'e2etest';

describe('credential chain end to end: every source of credentials against a real htpasswd registry', function () {
  this.timeout(60_000);
  const fixture = (): FixtureImage => standardFixtures().ociSingle;
  const registry = useRegistry(
    { kind: 'htpasswd', users: [{ user: USER, pass: PASSWORD }] },
    { tempDir: 'e2e-credential-chain', images: () => ({ 'private/app:v1': fixture() }) },
  );
  let testDir: string;
  let reference: string;
  let testNumber = 0;
  let extraEnv: NodeJS.ProcessEnv = {};
  const pool = new ProxyPool(() => isolatedEnv(testDir, extraEnv));

  before(() => {
    reference = dockerReference(registry.host, 'private/app', 'v1');
  });
  beforeEach(() => {
    testDir = join(registry.workDir, `t${++testNumber}`);
    extraEnv = {};
  });
  afterEach(() => pool.disposeAll());

  const home = () => join(testDir, 'home');
  const auth = (password: string) => ({ auth: Buffer.from(`${USER}:${password}`).toString('base64') });

  function write(path: string, content: string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  /** `docker-credential-e2etest` answering for the registry host only, on a private PATH. */
  function installHelper(password: string): void {
    const bin = join(testDir, 'bin');
    const answer = JSON.stringify({ ServerURL: registry.host, Username: USER, Secret: password });
    write(
      join(bin, `docker-credential-${HELPER}`),
      `#!/bin/sh\n[ "$1" = get ] || exit 9\nhost=$(cat)\nif [ "$host" = "${registry.host}" ]; then echo '${answer}'; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    chmodSync(join(bin, `docker-credential-${HELPER}`), 0o755);
    extraEnv = { ...extraEnv, PATH: `${bin}:${process.env.PATH ?? ''}` };
  }

  async function expectServed(...args: string[]): Promise<void> {
    const proxy = pool.start('--tls-verify=false', ...args, reference);
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(fixture().manifest.digest);
    expect(proxy.stderr()).not.to.include(PASSWORD);
  }

  const locations: { name: string; setUp: () => void }[] = [
    {
      name: '$XDG_RUNTIME_DIR/containers/auth.json',
      setUp: () => write(join(testDir, 'run', 'containers', 'auth.json'), JSON.stringify({ auths: { [registry.host]: auth(PASSWORD) } })),
    },
    {
      name: '$XDG_CONFIG_HOME/containers/auth.json',
      setUp: () => write(join(home(), '.config', 'containers', 'auth.json'), JSON.stringify({ auths: { [registry.host]: auth(PASSWORD) } })),
    },
    {
      name: '$DOCKER_CONFIG/config.json',
      setUp: () => {
        const dir = join(testDir, 'docker-config');
        write(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: auth(PASSWORD) } }));
        extraEnv = { DOCKER_CONFIG: dir };
      },
    },
    {
      name: '~/.docker/config.json (via HOME)',
      setUp: () => write(join(home(), '.docker', 'config.json'), JSON.stringify({ auths: { [registry.host]: auth(PASSWORD) } })),
    },
    { name: '~/.dockercfg (legacy format)', setUp: () => write(join(home(), '.dockercfg'), JSON.stringify({ [registry.host]: auth(PASSWORD) })) },
    {
      name: 'a namespaced key in auth.json, beating a wrong host key in the same file',
      setUp: () =>
        write(
          join(home(), '.config', 'containers', 'auth.json'),
          JSON.stringify({ auths: { [registry.host]: auth(WRONG_PASSWORD), [`${registry.host}/private`]: auth(PASSWORD) } }),
        ),
    },
    {
      name: 'credHelpers in ~/.docker/config.json (a docker-credential helper on PATH)',
      setUp: () => {
        installHelper(PASSWORD);
        write(join(home(), '.docker', 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: HELPER } }));
      },
    },
  ];
  for (const { name, setUp } of locations) {
    it(`credentials from ${name}: served and verified`, async () => {
      isolatedEnv(testDir);
      setUp();
      await expectServed();
    });
  }

  it('credentials from a registries.conf credential-helpers entry (a docker-credential helper on PATH)', async () => {
    isolatedEnv(testDir);
    installHelper(PASSWORD);
    const conf = write(join(testDir, 'registries.conf'), `credential-helpers = ["${HELPER}", "containers-auth.json"]\n`);
    await expectServed('--registries-conf', conf);
  });

  it('a wrong password → "unauthorized" naming the registry; no password in the answer or stderr', async () => {
    isolatedEnv(testDir);
    write(join(home(), '.config', 'containers', 'auth.json'), JSON.stringify({ auths: { [registry.host]: auth(WRONG_PASSWORD) } }));
    const proxy = pool.start('--tls-verify=false', reference);
    const answer = await proxy.request('GET', '/manifest');
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('unauthorized');
    expect(body.message).to.include(registry.host);
    for (const secret of [WRONG_PASSWORD, auth(WRONG_PASSWORD).auth]) {
      expect(answer.body.toString()).not.to.include(secret);
      expect(proxy.stderr()).not.to.include(secret);
    }
  });

  it('a wrong password from a credential helper → "unauthorized", the secret nowhere', async () => {
    isolatedEnv(testDir);
    installHelper(WRONG_PASSWORD);
    const conf = write(join(testDir, 'registries.conf'), `credential-helpers = ["${HELPER}"]\n`);
    const proxy = pool.start('--tls-verify=false', '--registries-conf', conf, reference);
    const answer = await proxy.request('GET', '/manifest');
    expect(errorOf(answer).code).to.equal('unauthorized');
    expect(answer.body.toString() + proxy.stderr()).not.to.include(WRONG_PASSWORD);
  });

  it('a missing credential helper with nothing else found → "credential-helper" error naming it', async () => {
    isolatedEnv(testDir);
    const conf = write(join(testDir, 'registries.conf'), 'credential-helpers = ["containers-auth.json", "absent-e2e"]\n');
    const body = errorOf(await pool.start('--tls-verify=false', '--registries-conf', conf, reference).request('GET', '/manifest'));
    expect(body.code, body.message).to.equal('credential-helper');
    expect(body.message).to.include('docker-credential-absent-e2e');
  });

  it('--creds are for the registry asked for: a mirror on another domain gets its own credentials', async () => {
    isolatedEnv(testDir);
    // The primary is down; the mirror (the htpasswd registry) would refuse the --creds password.
    const primary = `127.0.0.1:${await freePort()}`;
    const conf = write(
      join(testDir, 'registries.conf'),
      `[[registry]]\nlocation = "${primary}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${registry.host}"\ninsecure = true\n`,
    );
    write(join(home(), '.config', 'containers', 'auth.json'), JSON.stringify({ auths: { [registry.host]: auth(PASSWORD) } }));
    const proxy = pool.start('--registries-conf', conf, '--creds', `${USER}:${WRONG_PASSWORD}`, dockerReference(primary, 'private/app', 'v1'));
    await fetchVerifiedImage(proxy);
    expect(proxy.stderr()).not.to.include(WRONG_PASSWORD);
  });
});
