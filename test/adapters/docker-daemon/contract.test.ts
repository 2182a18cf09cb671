import { join } from 'node:path';
import { DockerDaemonTransport } from '../../../src/adapters/docker-daemon/docker-daemon-transport.js';
import { DockerEngineApi } from '../../../src/adapters/docker-daemon/engine-api.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { describeTransportContract, type TransportContractFixture } from '../../contract/transport-contract.js';
import { engineRequest, makeEngineStore, startPodmanService } from '../../support/docker-engine.js';
import { blobOf, type FixtureImage, standardFixtures } from '../../support/image-fixtures.js';
import { ensureRegistryTools } from '../../support/registry/install.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { makeSkopeoEnvironment } from '../../support/registry/skopeo.js';
import { skopeoInspectRaw } from '../../support/skopeo-cli.js';
import { dockerArchive, servedByDockerArchive } from '../archive/archive-fixtures.js';

/**
 * DockerDaemonTransport against podman's Docker API: the fixture images are written as docker
 * archives by skopeo, loaded into the engine, and must come back as containers/image serves
 * them (the manifest it generates from the engine's export, read with `skopeo inspect --raw`).
 */
async function podmanFixture(): Promise<TransportContractFixture> {
  const tools = ensureRegistryTools();
  if (!tools.ready) throw new Error(`podman is needed for the docker-daemon contract: ${tools.reason}`);
  const { ociSingle, ociLarge } = standardFixtures();
  const work = makeTempDir('docker-daemon-contract');
  const env = makeSkopeoEnvironment();
  try {
    const store = makeEngineStore(join(work, 'store'));
    const engine = await startPodmanService(store, `unix://${join(work, 'podman.sock')}`, 'contract');
    const load = async (name: string, image: FixtureImage, tag: string): Promise<FixtureImage> => {
      const archive = await dockerArchive(env, work, name, image, tag);
      const loaded = await engineRequest(engine, 'POST', '/images/load', archive);
      if (loaded.status !== 200) throw new Error(`loading ${tag}: HTTP ${loaded.status}: ${loaded.body.toString()}`);
      const served = await servedByDockerArchive(archive, image);
      const manifest = await skopeoInspectRaw(['--daemon-host', engine.host, `docker-daemon:${tag}`]);
      return { ...served, manifest: blobOf(MediaType.dockerSchema2, manifest) };
    };
    const single = await load('single', ociSingle, 'example.com/fixture/single:v1');
    const large = await load('large', ociLarge, 'example.com/fixture/large:v1');
    const api = new DockerEngineApi({
      endpoint: { kind: 'unix', path: engine.socketPath!, description: engine.host },
      connectTimeoutMs: 5000,
      answerTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      maxExportBytes: 1 << 30,
    });
    const docker = (path: string, tag: string) => ({ domain: 'example.com', path, tag });
    return {
      transport: new DockerDaemonTransport(api),
      single: { reference: { transport: 'docker-daemon', docker: docker('fixture/single', 'v1') }, expected: single },
      large: { reference: { transport: 'docker-daemon', docker: docker('fixture/large', 'v1') }, expected: large },
      missing: { transport: 'docker-daemon', docker: docker('fixture/absent', 'v1') },
      cleanup: async () => {
        await engine.stop();
        removeTempDir(work);
      },
    };
  } finally {
    env.cleanup();
  }
}

describeTransportContract("docker-daemon: podman's Docker API", podmanFixture, { lists: false });
