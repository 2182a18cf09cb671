import { type Digest } from '../../../src/domain/digest.js';
import { type ImageReference } from '../../../src/domain/reference.js';
import { describeTransportContract } from '../../contract/transport-contract.js';
import { FakeRegistry } from '../../support/fake-registry.js';
import { type FixtureArtifact, artifactBlobs, artifactManifests, standardFixtures } from '../../support/image-fixtures.js';
import { makeTransport } from './helpers.js';

/** Stores an artifact the way a push would: blobs, instances by digest, the top manifest under `tag`. */
function push(registry: FakeRegistry, repository: string, artifact: FixtureArtifact, tag: string): ImageReference {
  for (const blob of artifactBlobs(artifact)) registry.putBlob(repository, blob.bytes);
  const [top, ...instances] = artifactManifests(artifact);
  for (const instance of instances) registry.putManifest(repository, instance.bytes, instance.mediaType);
  registry.putManifest(repository, top!.bytes, top!.mediaType, tag);
  return { transport: 'docker', docker: { domain: registry.host, path: repository, tag } };
}

for (const format of ['oci', 'docker'] as const) {
  describeTransportContract(`DistributionTransport against the fake registry (${format} fixtures)`, async () => {
    const fixtures = standardFixtures();
    const [single, list, large] =
      format === 'oci' ? [fixtures.ociSingle, fixtures.ociIndex, fixtures.ociLarge] : [fixtures.dockerSingle, fixtures.dockerList, fixtures.dockerLarge];
    const registry = await FakeRegistry.start({ kind: 'bearer', service: 'contract' });
    const { transport, cleanup } = makeTransport();
    return {
      transport,
      single: { reference: push(registry, 'contract/single', single, 'v1'), expected: single },
      list: { reference: push(registry, 'contract/list', list, 'v1'), expected: list },
      large: { reference: push(registry, 'contract/large', large, 'v1'), expected: large },
      missing: { transport: 'docker', docker: { domain: registry.host, path: 'contract/missing', digest: `sha256:${'1'.repeat(64)}` as Digest } },
      cleanup: async () => {
        await cleanup();
        await registry.close();
      },
    };
  });
}
