import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildContainer, type PortOverrides, Tokens } from '../../src/app/embed.js';
import { type ProxyOptions } from '../../src/app/composition/options.js';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { type ImageApi } from '../../src/ports/image-api.js';
import { PLATFORMS, standardFixtures } from '../support/image-fixtures.js';
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
  const apiWith = async (overrides: PortOverrides): Promise<ImageApi> => (await buildContainer(options(), overrides)).get<ImageApi>(Tokens.ImageApi);

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'port-overrides-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('serves an image from the in-memory mirror: the host platform\'s instance, its config and every layer verified', async () => {
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

  it('the in-memory policy\'s refusal is what the client gets, and /signatures says the same', async () => {
    const transport = new MemoryTransport().store(PRIMARY, standardFixtures().ociSingle);
    const api = await apiWith({ transports: [transport], registries: new MemoryRegistriesConfig(), policy: MemorySignaturePolicy.refusing('docker://reg.example.com/', 'unsigned') });
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
