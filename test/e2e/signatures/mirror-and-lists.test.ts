import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { freePort } from '../../support/registry/processes.js';
import { skopeoRegistryFlags } from '../../support/registry/push.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { standardFixtures, writeOciLayout } from '../../support/image-fixtures.js';
import { type HttpAnswer, spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import { errorOf, isolatedEnv } from '../registry/proxy-session.js';
import { gpgAgentCleanup, gpgHome, type GpgHome, lookasideDir } from './gpg.js';
import { type LookasideServer, type OracleVerdict, skopeoVerdict, startLookasideServer, writeRegistriesD } from './lookaside-helpers.js';

/**
 * Where signatures come from, through the CLI with real GPG signatures made by skopeo, each
 * verdict checked against `skopeo copy --policy` on the same inputs:
 * - a registries.conf mirror: lookaside chosen for the mirror actually used, policy scope and
 *   signed identity from the logical (primary) name;
 * - an instance chosen from a signed index: its own signature counts, the list's does not;
 * - http lookaside: 404 ends the list of signatures, a 500 is an error, never an accept.
 */

const fixtures = standardFixtures();
const single = fixtures.ociSingle;
const index = fixtures.ociIndex;
const instanceFor = (architecture: string) => index.instances.find((image) => image.platform.architecture === architecture)!;
const ARCH_FLAGS = {
  arm64: ['--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8'],
  amd64: ['--override-os', 'linux', '--override-arch', 'amd64'],
} as const;

interface Verdicts {
  readonly process: ProxyProcess;
  /** The proxy's answer to GET /manifest. */
  readonly proxy: HttpAnswer;
  readonly oracle: OracleVerdict;
}

describe('signatures end to end: lookaside through mirrors, lists and http', function () {
  this.timeout(120_000);
  let downHost: string;
  let gpg: GpgHome;
  let env: SkopeoEnvironment;
  let signed: string;
  let empty: string;
  let policy: string;
  let server: LookasideServer;
  const proxies: ProxyProcess[] = [];

  const registry = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-lookaside' });
  registry.onTeardown(async () => {
    if (gpg) await gpgAgentCleanup(gpg);
    env?.cleanup();
    await server?.stop();
  });

  before(async () => {
    // Nothing listens here: the primary registry is down.
    downHost = `127.0.0.1:${await freePort()}`;
    gpg = gpgHome(join(registry.workDir, 'gnupg'));
    const trusted = await gpg.generate('Trusted Signer <trusted@example.com>');
    const trustedKey = join(registry.workDir, 'trusted.gpg');
    await gpg.exportPublic(trusted, trustedKey);

    signed = join(registry.workDir, 'signed');
    empty = join(registry.workDir, 'empty');
    mkdirSync(signed);
    mkdirSync(empty);
    const signedBy = [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: trustedKey }];
    policy = join(registry.workDir, 'policy.json');
    // The mirror's own scope rejects: an accept can only come from the logical name's scope.
    writeFileSync(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${downHost}/repo`]: signedBy,
            [`${registry.host}/list`]: signedBy,
            [`${registry.host}/plain`]: signedBy,
            [registry.host]: [{ type: 'reject' }],
          },
        },
      }),
    );

    const layout = join(registry.workDir, 'layout');
    await writeOciLayout(layout, [
      { artifact: single, name: 'single' },
      { artifact: index, name: 'index' },
    ]);
    env = makeSkopeoEnvironment();
    env.env.GNUPGHOME = gpg.dir;
    writeRegistriesD(env.registriesDir, { [registry.host]: `file://${signed}` });
    const push = (image: string, target: string, extra: readonly string[]) =>
      skopeo(env, [
        'copy',
        '--quiet',
        '--preserve-digests',
        ...skopeoRegistryFlags(registry, 'dest'),
        '--sign-by',
        trusted,
        ...extra,
        `oci:${layout}:${image}`,
        `docker://${registry.host}/${target}`,
      ]);
    // Signed for the logical name, stored only on the mirror.
    await push('single', 'mirrored-repo:1', ['--sign-identity', `${downHost}/repo:1`]);
    // Signed for the mirror's own name: valid, but not for the image asked for. A repository of
    // its own, since tags of one manifest share a lookaside directory.
    await push('single', 'mirrored-other:1', []);
    await push('index', 'list/app:1', ['--all']);
    await push('single', 'plain/app:1', []);
    server = await startLookasideServer(signed);
  });

  afterEach(async () => {
    server?.reset();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.dispose()));
  });

  /** The proxy's GET /manifest and skopeo's copy for the same image, policy, registries.d (and .conf). */
  async function judge(image: string, registriesDir: string, options: { registriesConf?: string; globalFlags?: readonly string[] } = {}): Promise<Verdicts> {
    const confArgs = options.registriesConf === undefined ? [] : ['--registries-conf', options.registriesConf];
    const args = ['--policy', policy, '--registries.d', registriesDir, ...confArgs, '--tls-verify=false', ...(options.globalFlags ?? []), image];
    const proxy = spawnProxy(args, { env: isolatedEnv(registry.workDir) });
    proxies.push(proxy);
    const [answer, oracle] = await Promise.all([proxy.request('GET', '/manifest'), skopeoVerdict({ registry, policy, registriesDir, ...options, image })]);
    return { process: proxy, proxy: answer, oracle };
  }

  async function expectRejected(verdicts: Verdicts, reason: RegExp): Promise<void> {
    expect(verdicts.proxy.status, verdicts.proxy.body.toString()).to.equal(403);
    const body = errorOf(verdicts.proxy);
    expect(body.code).to.equal('policy-rejected');
    expect(body.message).to.match(reason).and.include(policy);
    expect((await verdicts.process.request('GET', '/config')).status, 'nothing is served once rejected').to.equal(403);
    expect(verdicts.oracle.accepted, 'skopeo accepted what the proxy rejected').to.equal(false);
  }

  async function expectAccepted(verdicts: Verdicts, instance: string): Promise<void> {
    expect(verdicts.proxy.status, verdicts.proxy.body.toString()).to.equal(200);
    expect(verdicts.proxy.headers['instance-digest']).to.equal(instance);
    const config = await verdicts.process.request('GET', '/config');
    expect(config.status, config.body.toString()).to.equal(200);
    expect(verdicts.oracle.accepted, `skopeo: ${verdicts.oracle.output}`).to.equal(true);
  }

  describe('a registries.conf mirror serves the image while the primary is down', () => {
    let conf: string;
    let mirrorLookaside: string;
    let primaryLookaside: string;

    before(() => {
      conf = join(registry.workDir, 'mirror.conf');
      writeFileSync(
        conf,
        `[[registry]]\nprefix = "${downHost}/repo"\nlocation = "${downHost}/repo"\ninsecure = true\n[[registry.mirror]]\nlocation = "${registry.host}/mirrored-repo"\ninsecure = true\n` +
          `[[registry]]\nprefix = "${downHost}/repo/other"\nlocation = "${downHost}/repo/other"\ninsecure = true\n[[registry.mirror]]\nlocation = "${registry.host}/mirrored-other"\ninsecure = true\n`,
      );
      // The same signature filed under the primary's repository path, in the primary's own lookaside.
      const primarySignatures = join(registry.workDir, 'primary-signed');
      cpSync(lookasideDir(signed, 'mirrored-repo', single.manifest.digest), lookasideDir(primarySignatures, 'repo', single.manifest.digest), {
        recursive: true,
      });
      mirrorLookaside = writeRegistriesD(join(registry.workDir, 'registries.d-mirror'), { [registry.host]: `file://${signed}`, [downHost]: `file://${empty}` });
      primaryLookaside = writeRegistriesD(join(registry.workDir, 'registries.d-primary'), {
        [registry.host]: `file://${empty}`,
        [downHost]: `file://${primarySignatures}`,
      });
    });

    it('lookaside of the mirror actually used, policy scope and identity of the logical name: accepted', async () => {
      await expectAccepted(await judge(`docker://${downHost}/repo:1`, mirrorLookaside, { registriesConf: conf }), single.manifest.digest);
    });

    it("only the primary's lookaside holds the signature: rejected, no signature", async () => {
      await expectRejected(await judge(`docker://${downHost}/repo:1`, primaryLookaside, { registriesConf: conf }), /no signature exists/);
    });

    it("a signature claiming the mirror's name instead of the logical one: rejected, wrong identity", async () => {
      await expectRejected(await judge(`docker://${downHost}/repo/other:1`, mirrorLookaside, { registriesConf: conf }), /wrong identity/);
    });
  });

  describe('an instance chosen from an index pushed with skopeo copy --all --sign-by', () => {
    /** A copy of the signed lookaside tree holding only the signatures of `keep`. */
    function lookasideKeeping(name: string, keep: readonly string[]): string {
      const root = join(registry.workDir, `list-${name}`);
      cpSync(join(signed, 'list'), join(root, 'list'), { recursive: true });
      for (const entry of readdirSync(join(root, 'list'))) {
        if (!keep.some((digest) => entry === `app@${digest.replace(':', '=')}`)) rmSync(join(root, 'list', entry), { recursive: true });
      }
      return writeRegistriesD(join(registry.workDir, `registries.d-list-${name}`), { [registry.host]: `file://${root}` });
    }

    it('skopeo signed the index and every instance', () => {
      for (const digest of [index.manifest.digest, ...index.instances.map((image) => image.manifest.digest)]) {
        expect(existsSync(join(lookasideDir(signed, 'list/app', digest), 'signature-1')), digest).to.equal(true);
      }
    });

    const image = (): string => `docker://${registry.host}/list/app:1`;
    const CASES = [
      { name: 'everything signed, arm64 asked: the arm64 instance accepted', keep: 'all', arch: 'arm64', accepted: true },
      { name: 'only the index signed: rejected, no signature for the instance', keep: 'index', arch: 'arm64', accepted: false },
      { name: 'index and amd64 signed, arm64 asked: rejected', keep: 'index+amd64', arch: 'arm64', accepted: false },
      { name: 'index and amd64 signed, amd64 asked: accepted', keep: 'index+amd64', arch: 'amd64', accepted: true },
    ] as const;
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const keep = {
          all: [index.manifest.digest, ...index.instances.map((instance) => instance.manifest.digest)],
          index: [index.manifest.digest],
          'index+amd64': [index.manifest.digest, instanceFor('amd64').manifest.digest],
        }[testCase.keep];
        const verdicts = await judge(image(), lookasideKeeping(`${testCase.keep}-${testCase.arch}`, keep), { globalFlags: ARCH_FLAGS[testCase.arch] });
        if (testCase.accepted) await expectAccepted(verdicts, instanceFor(testCase.arch).manifest.digest);
        else await expectRejected(verdicts, /no signature exists/);
      });
    }
  });

  describe('http lookaside served by a node:http server', () => {
    let httpLookaside: string;
    const image = (): string => `docker://${registry.host}/plain/app:1`;
    const firstSignature = (): string => `/plain/app@${single.manifest.digest.replace(':', '=')}/signature-1`;

    before(() => {
      httpLookaside = writeRegistriesD(join(registry.workDir, 'registries.d-http'), { [registry.host]: server.base });
    });

    it('signature-1 served, signature-2 a 404: accepted', async () => {
      await expectAccepted(await judge(image(), httpLookaside), single.manifest.digest);
      expect(server.requested).to.include(firstSignature());
      expect(server.requested).to.include(firstSignature().replace(/1$/, '2'));
    });

    it('signature-1 a 404: rejected, no signature', async () => {
      server.failWith('/signature-1', 404);
      await expectRejected(await judge(image(), httpLookaside), /no signature exists/);
    });

    it('signature-1 a 500: an error naming the URL and the status, not an accept', async () => {
      server.failWith('/signature-1', 500);
      const verdicts = await judge(image(), httpLookaside);
      expect(verdicts.proxy.status, verdicts.proxy.body.toString()).to.be.within(500, 599);
      const body = errorOf(verdicts.proxy);
      expect(body.code, body.message).to.equal('registry-error');
      expect(body.message).to.include(`${server.base}${firstSignature()}`).and.include('500');
      const config = await verdicts.process.request('GET', '/config');
      expect(config.status, 'nothing is served after the failure').to.not.equal(200);
      expect(verdicts.oracle.accepted, 'skopeo accepted despite the 500').to.equal(false);
      expect(verdicts.oracle.output).to.include('500');
    });
  });
});
