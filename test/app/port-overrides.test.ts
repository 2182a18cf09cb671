import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createImageApi, type PortOverrides, type ProxyOptions } from '../../src/app/embed.js';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { type ImageApi } from '../../src/ports/image-api.js';
import { PLATFORMS, standardFixtures } from '../support/image-fixtures.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { MemoryRegistriesConfig, MemorySignaturePolicy, MemoryTransport, RecordingLog } from '../support/memory-ports/index.js';

/**
 * What an embedder does to serve an alternative registry in its tests: the in-memory ports handed
 * to the composition root as overrides replace the built-in adapters, and the image service above
 * them (resolution, verification, policy) works unchanged.
 */
describe('the composition root with in-memory ports as overrides', () => {
  const PRIMARY = 'docker://reg.example.com/ns/app:1';
  const MIRROR = 'docker://mirror.local/ns/app:1';
  const MIRRORED = '[[registry]]\nlocation = "reg.example.com"\n[[registry.mirror]]\nlocation = "mirror.local"\n';
  let home: string;
  const options = (): ProxyOptions => ({ platform: {}, insecurePolicy: false, env: {}, homeDir: home, cwd: home, hostPlatform: PLATFORMS.arm64 });
  const apiWith = (overrides: PortOverrides): Promise<ImageApi> => createImageApi(options(), overrides);

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'port-overrides-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it("serves an image from the in-memory mirror: the host platform's instance, its config and every layer verified", async () => {
    const index = standardFixtures().ociIndex;
    const arm64 = index.instances.find((image) => image.platform.architecture === 'arm64')!;
    const transport = new MemoryTransport().store(MIRROR, index);
    const log = new RecordingLog();
    const api = await apiWith({ transports: [transport], registries: MemoryRegistriesConfig.fromToml(MIRRORED), policy: new MemorySignaturePolicy(), log });

    const manifest = await api.manifest(PRIMARY);
    expect([manifest.manifestDigest, manifest.instanceDigest]).to.deep.equal([index.manifest.digest, arm64.manifest.digest]);
    expect(digestOf(await api.config(PRIMARY))).to.equal(arm64.config.digest);
    for (const layer of arm64.layers) {
      const { stream } = await api.blob(PRIMARY, layer.digest, {});
      expect(digestOf(Buffer.concat((await stream.toArray()) as Buffer[]))).to.equal(layer.digest);
    }
    expect(transport.opens.map((open) => open.image)).to.deep.equal([MIRROR]);
    expect(log.of('pull-source').at(-1)?.fields).to.deep.include({ outcome: 'served', role: 'mirror', source: MIRROR });
  });

  it('an overridden transport replaces only its own name: the built-in oci: adapter still serves a layout beside it', async () => {
    const transport = new MemoryTransport().store(PRIMARY, standardFixtures().ociSingle);
    const api = await apiWith({ transports: [transport], registries: new MemoryRegistriesConfig(), policy: new MemorySignaturePolicy() });
    const local = `oci:${join(REPO_ROOT, 'examples/image')}:latest`;
    expect((await api.manifest(local)).manifestDigest).to.equal('sha256:102f408042fca14e242f2abed3b9e59459991de6aa02e115abad2d186e01545f');
    expect((await api.manifest(PRIMARY)).instanceDigest).to.equal(standardFixtures().ociSingle.manifest.digest);
    expect(transport.opens.map((open) => open.image)).to.deep.equal([PRIMARY]);
  });

  it('without a policy override the container reads policy.json while building the API: a missing one fails before anything is served', async () => {
    const err: unknown = await createImageApi({ ...options(), policyPath: join(home, 'absent-policy.json') }, { transports: [new MemoryTransport()] }).then(
      () => expect.fail('expected the missing policy to fail'),
      (reason: unknown) => reason,
    );
    expect(isProxyError(err, 'policy-invalid') && err.message).to.equal(`cannot read policy ${join(home, 'absent-policy.json')}: ENOENT`);
  });

  it("the in-memory policy's refusal is what the client gets, and /signatures says the same", async () => {
    const transport = new MemoryTransport().store(PRIMARY, standardFixtures().ociSingle);
    const api = await apiWith({
      transports: [transport],
      registries: new MemoryRegistriesConfig(),
      policy: MemorySignaturePolicy.refusing('docker://reg.example.com/', 'unsigned'),
    });
    for (const call of [() => api.manifest(PRIMARY), () => api.signatures(PRIMARY)]) {
      const err: unknown = await call().then(
        () => expect.fail('expected a refusal'),
        (reason: unknown) => reason,
      );
      expect(isProxyError(err, 'policy-rejected') && err.message).to.equal(`${PRIMARY} is rejected by the in-memory policy: unsigned`);
    }
    expect(transport.openSources).to.equal(0);
  });
});
