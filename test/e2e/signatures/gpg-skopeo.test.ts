import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { skopeoRegistryFlags } from '../../support/registry/push.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { standardFixtures, writeOciLayout } from '../../support/image-fixtures.js';
import { spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import { isolatedEnv } from '../registry/proxy-session.js';
import { gpgAgentCleanup, gpgHome, type GpgHome, lookasideDir } from './gpg.js';

/**
 * Real simple-signing signatures made by `skopeo copy --sign-by` into a real registry with
 * file:// lookaside, judged by the proxy (through the CLI, over a socketpair) and by
 * `skopeo copy --policy` on the same policy.json and registries.d: the verdicts must agree.
 */

interface Case {
  readonly name: string;
  readonly repository: string;
  readonly tag: string;
  readonly accepted: boolean;
  /** What the proxy's 403 message must say. */
  readonly reason?: RegExp;
}

const CASES: readonly Case[] = [
  { name: 'signed by the trusted key: accepted', repository: 'signed/app', tag: '1', accepted: true },
  { name: 'unsigned: rejected', repository: 'unsigned/app', tag: '1', accepted: false, reason: /no signature exists/ },
  { name: 'signed by another key: rejected', repository: 'wrongkey/app', tag: '1', accepted: false, reason: /unknown key/ },
  { name: 'tampered signature: rejected', repository: 'tampered/app', tag: '1', accepted: false, reason: /bad signature|not an OpenPGP message/ },
  { name: 'signature of another manifest: rejected', repository: 'mismatch/app', tag: '1', accepted: false, reason: /digest mismatch/ },
  { name: 'signature for another tag: rejected', repository: 'identity/app', tag: '1', accepted: false, reason: /wrong identity/ },
  { name: 'armored key file in keyPaths, signed: accepted', repository: 'signed/app', tag: '1', accepted: true },
];

describe('signatures end to end: GPG simple signing made by skopeo, same verdicts as skopeo', function () {
  this.timeout(120_000);
  let gpg: GpgHome;
  let env: SkopeoEnvironment;
  let sigstore: string;
  let policyPath: string;
  let armoredPolicyPath: string;
  let registriesDir: string;
  const proxies: ProxyProcess[] = [];

  const registry = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-gpg' });
  registry.onTeardown(async () => {
    if (gpg) await gpgAgentCleanup(gpg);
    env?.cleanup();
  });

  before(async () => {
    gpg = gpgHome(join(registry.workDir, 'gnupg'));
    const trusted = await gpg.generate('Trusted Signer <trusted@example.com>');
    const stranger = await gpg.generate('Stranger <stranger@example.com>');
    const trustedKey = join(registry.workDir, 'trusted.gpg');
    const armoredKey = join(registry.workDir, 'trusted.asc');
    await gpg.exportPublic(trusted, trustedKey);
    await gpg.exportPublic(trusted, armoredKey, true);

    sigstore = join(registry.workDir, 'sigstore');
    mkdirSync(sigstore);
    registriesDir = join(registry.workDir, 'registries.d');
    mkdirSync(registriesDir);
    writeFileSync(join(registriesDir, 'test.yaml'), `docker:\n  ${registry.host}:\n    lookaside: file://${sigstore}\n`);
    const policy = (keyField: object): string =>
      JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', ...keyField }] } } });
    policyPath = join(registry.workDir, 'policy.json');
    writeFileSync(policyPath, policy({ keyPath: trustedKey }));
    armoredPolicyPath = join(registry.workDir, 'policy-armored.json');
    writeFileSync(armoredPolicyPath, policy({ keyPaths: [armoredKey] }));

    const fixtures = standardFixtures();
    const layout = join(registry.workDir, 'layout');
    await writeOciLayout(layout, [
      { artifact: fixtures.ociSingle, name: 'single' },
      { artifact: fixtures.ociLarge, name: 'other' },
    ]);
    env = makeSkopeoEnvironment();
    env.env.GNUPGHOME = gpg.dir;
    writeFileSync(join(env.registriesDir, 'test.yaml'), `docker:\n  ${registry.host}:\n    lookaside: file://${sigstore}\n`);
    const push = async (image: string, repository: string, tag: string, signBy?: string): Promise<void> => {
      const sign = signBy === undefined ? [] : ['--sign-by', signBy];
      await skopeo(env, [
        'copy',
        '--quiet',
        '--preserve-digests',
        ...skopeoRegistryFlags(registry, 'dest'),
        ...sign,
        `oci:${layout}:${image}`,
        `docker://${registry.host}/${repository}:${tag}`,
      ]);
    };
    const single = fixtures.ociSingle.manifest.digest;
    await push('single', 'signed/app', '1', trusted);
    await push('single', 'unsigned/app', '1');
    await push('single', 'wrongkey/app', '1', stranger);
    await push('single', 'tampered/app', '1', trusted);
    const tampered = join(lookasideDir(sigstore, 'tampered/app', single), 'signature-1');
    const bytes = readFileSync(tampered);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(tampered, bytes);
    // The signature of `single` filed under `other`'s digest: valid, by the trusted key, for the wrong manifest.
    await push('other', 'mismatch/app', '1');
    await push('single', 'mismatch/app', 'single', trusted);
    const otherDir = lookasideDir(sigstore, 'mismatch/app', fixtures.ociLarge.manifest.digest);
    mkdirSync(otherDir, { recursive: true });
    copyFileSync(join(lookasideDir(sigstore, 'mismatch/app', single), 'signature-1'), join(otherDir, 'signature-1'));
    // Same manifest under two tags shares one lookaside directory; the signature names the other tag.
    await push('single', 'identity/app', 'signed-as-other', trusted);
    await push('single', 'identity/app', '1');
  });

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.dispose()));
  });

  it('skopeo wrote the signatures where the lookaside rules say', () => {
    const signature = readFileSync(join(lookasideDir(sigstore, 'signed/app', standardFixtures().ociSingle.manifest.digest), 'signature-1'));
    expect(signature.length).to.be.greaterThan(100);
  });

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const policy = testCase.name.startsWith('armored') ? armoredPolicyPath : policyPath;
      const image = `docker://${registry.host}/${testCase.repository}:${testCase.tag}`;
      const proxy = spawnProxy(['--policy', policy, '--registries.d', registriesDir, '--tls-verify=false', image], { env: isolatedEnv(registry.workDir) });
      proxies.push(proxy);
      const manifest = await proxy.request('GET', '/manifest');
      const oracle = await skopeoVerdict(policy, image);
      if (testCase.accepted) {
        expect(manifest.status, manifest.body.toString()).to.equal(200);
        const blob = await proxy.request('GET', `/blobs/${standardFixtures().ociSingle.layers[0]!.digest}`);
        expect(blob.status).to.equal(200);
      } else {
        expect(manifest.status, manifest.body.toString()).to.equal(403);
        const body = JSON.parse(manifest.body.toString()) as { code: string; message: string };
        expect(body.code).to.equal('policy-rejected');
        expect(body.message).to.match(testCase.reason!).and.to.contain(policy);
        // Nothing else is served either.
        const config = await proxy.request('GET', '/config');
        expect(config.status).to.equal(403);
      }
      expect(oracle.accepted, `skopeo: ${oracle.output}`).to.equal(testCase.accepted);
    });
  }

  async function skopeoVerdict(policy: string, image: string): Promise<{ accepted: boolean; output: string }> {
    const dest = makeTempDir('gpg-oracle-dest');
    const oracleEnv = makeSkopeoEnvironment();
    try {
      await skopeo({ ...oracleEnv, policyPath: policy, registriesDir }, ['copy', '--quiet', ...skopeoRegistryFlags(registry, 'src'), image, `dir:${dest}`]);
      return { accepted: true, output: '' };
    } catch (err) {
      return { accepted: false, output: (err as Error).message };
    } finally {
      oracleEnv.cleanup();
      removeTempDir(dest);
    }
  }
});
