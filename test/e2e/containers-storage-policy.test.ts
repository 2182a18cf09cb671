/**
 * containers-storage: signatures kept with the image (written by `skopeo copy --sign-by` into
 * the store) judged by policy.json's `containers-storage` scopes, through the real CLI, each
 * verdict compared with `skopeo copy --policy` on the same policy.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { standardFixtures } from '../support/image-fixtures.js';
import { writeOciLayout } from '../support/image-writers.js';
import { buildLocalImage, type LocalStore, makeStore, removeStore } from '../support/local-stores.js';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../support/registry/skopeo.js';
import { spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';
import { gpgAgentCleanup, gpgHome, type GpgHome } from './signatures/gpg.js';

interface Case {
  readonly name: string;
  readonly reference: string;
  readonly accepted: boolean;
  readonly reason?: RegExp;
}

describe('end to end: containers-storage signatures and policy scopes', function () {
  this.timeout(180_000);
  let work: string;
  let store: LocalStore;
  let gpg: GpgHome;
  let env: SkopeoEnvironment;
  let policyPath: string;
  let builtId: string;
  const proxies: ProxyProcess[] = [];

  before(async function () {
    work = makeTempDir('storage-policy');
    store = await makeStore(work, 'overlay', 'overlay');
    gpg = gpgHome(join(work, 'gnupg'));
    const trusted = await gpg.generate('Trusted Signer <trusted@example.com>');
    const stranger = await gpg.generate('Stranger <stranger@example.com>');
    const trustedKey = join(work, 'trusted.gpg');
    await gpg.exportPublic(trusted, trustedKey);
    env = makeSkopeoEnvironment();
    env.env.GNUPGHOME = gpg.dir;
    const layout = join(work, 'layout');
    // Three different images: one image (one config) stored under several names keeps one set of signatures.
    const [first, second, third] = standardFixtures().ociIndex.instances;
    await writeOciLayout(layout, [
      { artifact: first!, name: 'first' },
      { artifact: second!, name: 'second' },
      { artifact: third!, name: 'third' },
    ]);
    const copy = (from: string, name: string, signBy?: string) =>
      skopeo(env, [
        'copy',
        '--quiet',
        ...(signBy === undefined ? [] : ['--sign-by', signBy]),
        `oci:${layout}:${from}`,
        `containers-storage:${store.spec}${name}`,
      ]);
    await copy('first', 'localhost/signed:1', trusted);
    await copy('second', 'localhost/forged:1', stranger);
    await copy('third', 'localhost/unsigned:1');
    builtId = await buildLocalImage(store, work, 'localhost/open:1', { 'open.txt': 'no signature needed\n' });
    const root = `[overlay@${store.graphRoot}]`;
    const signedBy = [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: trustedKey }];
    policyPath = join(work, 'policy.json');
    await writeFile(
      policyPath,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          'containers-storage': {
            [`${root}localhost/signed`]: signedBy,
            [`${root}localhost/forged`]: signedBy,
            [`${root}localhost/unsigned`]: signedBy,
            [`${root}localhost/open:1`]: [{ type: 'insecureAcceptAnything' }],
          },
        },
      }),
    );
  });
  after(async function () {
    await Promise.all(proxies.map((proxy) => proxy.dispose()));
    if (gpg !== undefined) await gpgAgentCleanup(gpg);
    env?.cleanup();
    if (store !== undefined) await removeStore(store);
    if (work !== undefined) removeTempDir(work);
  });

  const cases: readonly Case[] = [
    { name: 'signed by the trusted key under a signedBy scope: accepted', reference: 'localhost/signed:1', accepted: true },
    { name: 'signed by another key: rejected', reference: 'localhost/forged:1', accepted: false, reason: /signature|key/i },
    { name: 'unsigned under a signedBy scope: rejected', reference: 'localhost/unsigned:1', accepted: false, reason: /signature/i },
    { name: 'an insecureAcceptAnything scope on name:tag: accepted', reference: 'localhost/open:1', accepted: true },
    { name: 'by ID alone, matched by no scope: the default rejects', reference: 'ID', accepted: false, reason: /reject/i },
  ];
  for (const testCase of cases) {
    it(testCase.name, async function () {
      const reference = testCase.reference === 'ID' ? builtId : testCase.reference;
      const image = `containers-storage:${store.spec}${reference}`;
      const proxy = spawnProxy(['--policy', policyPath, image]);
      proxies.push(proxy);
      const answer = await proxy.request('GET', '/manifest');
      const oracle = await skopeoVerdict(image);
      expect(oracle.accepted, `skopeo: ${oracle.output}`).to.equal(testCase.accepted);
      if (testCase.accepted) {
        expect(answer.status, `${answer.body.toString()} ${proxy.stderr()}`).to.equal(200);
        const verdict = JSON.parse((await proxy.request('GET', '/signatures')).body.toString()) as { scope: string; signatures: { verified: boolean }[] };
        expect(verdict.scope).to.contain(`[overlay@${store.graphRoot}]localhost/`);
        if (reference === 'localhost/signed:1') expect(verdict.signatures.map((s) => s.verified)).to.deep.equal([true]);
      } else {
        const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
        expect([answer.status, body.code]).to.deep.equal([403, 'policy-rejected']);
        expect(body.message).to.match(testCase.reason!);
      }
    });
  }

  it('matches scopes against the store as containers/storage cleans its paths: a graph root spelled with "//", "." or a trailing "/" is the same store', async function () {
    const image = `containers-storage:[overlay@${store.graphRoot}/.//+${store.runRoot}/]localhost/open:1`;
    const proxy = spawnProxy(['--policy', policyPath, image]);
    proxies.push(proxy);
    const answer = await proxy.request('GET', '/manifest');
    const oracle = await skopeoVerdict(image);
    expect(oracle.accepted, `skopeo: ${oracle.output}`).to.equal(true);
    expect(answer.status, `${answer.body.toString()} ${proxy.stderr()}`).to.equal(200);
    const verdict = JSON.parse((await proxy.request('GET', '/signatures')).body.toString()) as { scope: string };
    expect(verdict.scope).to.contain(`"[overlay@${store.graphRoot}]localhost/open:1"`);
  });

  async function skopeoVerdict(image: string): Promise<{ accepted: boolean; output: string }> {
    const dest = join(work, `oracle-${Math.random().toString(16).slice(2)}`);
    try {
      // The policy is judged before anything is copied; the signatures are not written (dir: would have to invalidate them).
      await skopeo({ ...env, policyPath }, ['copy', '--quiet', '--remove-signatures', image, `dir:${dest}`]);
      return { accepted: true, output: '' };
    } catch (err) {
      return { accepted: false, output: (err as Error).message };
    }
  }
});
