import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerArchiveTransport } from '../../../src/adapters/archive/docker-archive-transport.js';
import { OciArchiveTransport } from '../../../src/adapters/archive/oci-archive-transport.js';
import { describeTransportContract, type TransportContractFixture } from '../../contract/transport-contract.js';
import { makeSkopeoEnvironment } from '../../support/registry/skopeo.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { type ArchiveCompression, assertSkopeo, dockerArchive, ociArchive, servedByDockerArchive } from './archive-fixtures.js';

async function ociArchiveFixture(compression: ArchiveCompression): Promise<TransportContractFixture> {
  const { ociSingle, ociIndex, ociLarge } = standardFixtures();
  const work = await mkdtemp(join(tmpdir(), 'oci-archive-contract-'));
  const path = await ociArchive(
    work,
    'images',
    [
      { artifact: ociSingle, name: 'single' },
      { artifact: ociIndex, name: 'list' },
      { artifact: ociLarge, name: 'large' },
    ],
    compression,
  );
  return {
    transport: new OciArchiveTransport(),
    single: { reference: { transport: 'oci-archive', path, reference: 'single' }, expected: ociSingle },
    list: { reference: { transport: 'oci-archive', path, reference: 'list' }, expected: ociIndex },
    large: { reference: { transport: 'oci-archive', path, reference: 'large' }, expected: ociLarge },
    missing: { transport: 'oci-archive', path, reference: 'absent' },
    cleanup: () => rm(work, { recursive: true, force: true }),
  };
}

async function dockerArchiveFixture(): Promise<TransportContractFixture> {
  assertSkopeo();
  const { ociSingle, ociLarge } = standardFixtures();
  const env = makeSkopeoEnvironment();
  const work = await mkdtemp(join(tmpdir(), 'docker-archive-contract-'));
  try {
    const single = await dockerArchive(env, work, 'single', ociSingle, 'example.com/fixture/single:v1');
    const large = await dockerArchive(env, work, 'large', ociLarge, 'example.com/fixture/large:v1');
    return {
      transport: new DockerArchiveTransport(),
      single: { reference: { transport: 'docker-archive', path: single }, expected: await servedByDockerArchive(single, ociSingle) },
      large: { reference: { transport: 'docker-archive', path: large, index: 0 }, expected: await servedByDockerArchive(large, ociLarge) },
      missing: { transport: 'docker-archive', path: join(work, 'absent.tar') },
      cleanup: () => rm(work, { recursive: true, force: true }),
    };
  } finally {
    env.cleanup();
  }
}

describeTransportContract('oci-archive', () => ociArchiveFixture('none'));
describeTransportContract('oci-archive, gzip-compressed', () => ociArchiveFixture('gzip'));
describeTransportContract('docker-archive written by skopeo', dockerArchiveFixture, { lists: false });
