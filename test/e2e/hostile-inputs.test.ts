/**
 * The bugs the property tests found (test/fuzz), each reached through the real CLI: a hostile
 * archive, layout file, registry answer or signed payload gets a JSON error and the session goes
 * on; a broken registries.d file stops the start with one line naming it. Each of these crashed
 * the proxy or answered an internal error.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FakeRegistry, faults } from '../support/fake-registry.js';
import { makeImage, makeLayer, PLATFORMS, writeOciLayout } from '../support/image-fixtures.js';
import { runCli, spawnProxy, type HttpAnswer, type ProxyProcess } from '../support/spawn-proxy.js';
import { ociArchive } from '../adapters/archive/archive-fixtures.js';
import { run } from '../support/registry/processes.js';
import { gpgAgentCleanup, gpgHome, lookasideDir } from './signatures/gpg.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function errorOf(answer: HttpAnswer): { code: string; message: string } {
  return JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
}

describe('end to end: hostile inputs found by the property tests', function () {
  this.timeout(60_000);
  const image = makeImage({
    format: 'oci',
    platform: PLATFORMS.amd64,
    layers: [makeLayer([{ path: 'hello.txt', content: encode('hello\n') }], { format: 'oci', compression: 'gzip' })],
  });
  let work: string;
  let good: string;
  let proxy: ProxyProcess;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'hostile-e2e-'));
    good = join(work, 'good');
    await writeOciLayout(good, [{ artifact: image }]);
    proxy = spawnProxy(['--insecure-policy', `oci:${good}`]);
  });
  after(async () => {
    await proxy?.dispose();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** GET /manifest of `name` through `?image=`, then proof that the session still serves. */
  async function refusedThenServing(name: string): Promise<{ code: string; message: string }> {
    const answer = await proxy.request('GET', `/manifest?image=${encodeURIComponent(name)}`);
    expect(answer.headers['content-type'], answer.body.toString()).to.match(/^application\/json/);
    const error = errorOf(answer);
    expect((await proxy.request('GET', '/manifest')).status, proxy.stderr()).to.equal(200);
    expect(proxy.child.exitCode, proxy.stderr()).to.equal(null);
    return error;
  }

  it('an oci-archive cut inside an entry is manifest-invalid', async () => {
    const whole = await readFile(await ociArchive(work, 'whole', [{ artifact: image }]));
    const cut = join(work, 'cut.tar');
    // Past the first header, short of the end: inside some entry's data.
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await refusedThenServing(`oci-archive:${cut}`);
    expect(error.code).to.equal('manifest-invalid');
    expect(error.message).to.contain(cut);
  });

  it('an OCI layout whose imageLayoutVersion is nested 100000 levels deep is manifest-invalid', async () => {
    const layout = join(work, 'deep-version');
    await writeOciLayout(layout, [{ artifact: image }]);
    await writeFile(join(layout, 'oci-layout'), `{"imageLayoutVersion":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const error = await refusedThenServing(`oci:${layout}`);
    expect(error.code).to.equal('manifest-invalid');
    expect(error.message).to.contain(`unsupported imageLayoutVersion ${'['.repeat(100)}…`);
  });

  it('an OCI layout whose index.json has a digest nested 100000 levels deep is manifest-invalid', async () => {
    const layout = join(work, 'deep-digest');
    await writeOciLayout(layout, [{ artifact: image }]);
    await writeFile(
      join(layout, 'index.json'),
      `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`,
    );
    const error = await refusedThenServing(`oci:${layout}`);
    expect(error.code).to.equal('manifest-invalid');
    expect(error.message).to.contain('manifests[0]: invalid digest [[[');
  });

  it("a registry error whose detail is nested 20000 levels deep is reported with the registry's code", async () => {
    const registry = await FakeRegistry.start();
    try {
      const body = `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`;
      registry.inject((request) => request.url.includes('/manifests/'), faults.bytes(encode(body), { 'content-type': 'application/json' }, 404));
      const hostile = spawnProxy(['--insecure-policy', '--tls-verify=false', `oci:${good}`]);
      try {
        const answer = await hostile.request('GET', `/manifest?image=${encodeURIComponent(`docker://${registry.host}/hostile/detail:1`)}`);
        expect(answer.status, answer.body.toString()).to.equal(404);
        const error = errorOf(answer);
        expect(error.code).to.equal('image-not-found');
        expect(error.message).to.contain(`MANIFEST_UNKNOWN: manifest unknown (${'['.repeat(200)}…)`);
        expect((await hostile.request('GET', '/manifest')).status, hostile.stderr()).to.equal(200);
      } finally {
        await hostile.dispose();
      }
    } finally {
      await registry.close();
    }
  });

  it('a signature by a trusted key whose payload type is nested 100000 levels deep is policy-rejected', async function () {
    const registry = await FakeRegistry.start();
    const gpg = gpgHome(join(work, 'gnupg'));
    try {
      const repository = 'hostile/signed';
      const manifestDigest = registry.putManifest(repository, image.manifest.bytes, image.manifest.mediaType, '1');
      for (const blob of [image.config, ...image.layers]) registry.putBlob(repository, blob.bytes);
      const signer = await gpg.generate('Trusted Signer <trusted@example.com>');
      const key = join(work, 'trusted.gpg');
      await gpg.exportPublic(signer, key);
      const payload = join(work, 'payload.json');
      const deepType = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      await writeFile(
        payload,
        `{"critical":{"type":${deepType},"image":{"docker-manifest-digest":"${manifestDigest}"},"identity":{"docker-reference":"${registry.host}/${repository}:1"}},"optional":{}}`,
      );
      const sigstore = join(work, 'sigstore');
      const signatureDir = lookasideDir(sigstore, repository, manifestDigest);
      await mkdir(signatureDir, { recursive: true });
      await run('gpg', ['--batch', '--yes', '--local-user', signer, '--output', join(signatureDir, 'signature-1'), '--sign', payload], { env: gpg.env });
      const registriesD = join(work, 'signatures.d');
      await mkdir(registriesD);
      await writeFile(join(registriesD, 'lookaside.yaml'), `docker:\n  ${registry.host}:\n    lookaside: file://${sigstore}\n`);
      const policy = join(work, 'signed-policy.json');
      await writeFile(
        policy,
        JSON.stringify({
          default: [{ type: 'insecureAcceptAnything' }],
          transports: { docker: { [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: key }] } },
        }),
      );
      const signed = spawnProxy(['--policy', policy, '--registries.d', registriesD, '--tls-verify=false', `oci:${good}`]);
      try {
        const answer = await signed.request('GET', `/manifest?image=${encodeURIComponent(`docker://${registry.host}/${repository}:1`)}`);
        expect(answer.status, answer.body.toString()).to.equal(403);
        const error = errorOf(answer);
        expect(error.code).to.equal('policy-rejected');
        expect(error.message).to.contain('critical.type must be a string');
        expect((await signed.request('GET', '/manifest')).status, signed.stderr()).to.equal(200);
      } finally {
        await signed.dispose();
      }
    } finally {
      await gpgAgentCleanup(gpg);
      await registry.close();
    }
  });

  it('a registries.d file with an alias to no anchor stops the start with one line naming it', async () => {
    const registriesD = join(work, 'registries.d');
    await mkdir(registriesD);
    const file = join(registriesD, 'broken.yaml');
    await writeFile(file, 'docker:\n  quay.io: *nowhere\n');
    const policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const run = await runCli(['--sockfd', '0', '--policy', policy, '--registries.d', registriesD, `oci:${good}`]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr.trim().split('\n'), run.stderr).to.have.length(1);
    expect(run.stderr).to.contain(`policy-invalid: ${file}: invalid YAML: Unresolved alias`);
  });
});
