import { parseImageName } from '../../../src/domain/reference.js';
import { describeTransportContract } from '../../contract/transport-contract.js';
import { standardFixtures } from '../image-fixtures.js';
import { MemoryTransport } from './memory-transport.js';

describeTransportContract('MemoryTransport (test/support/memory-ports): images held in memory', async () => {
  const fixtures = standardFixtures();
  const transport = new MemoryTransport()
    .store('docker://memory.local/ns/single:1', fixtures.ociSingle)
    .store('docker://memory.local/ns/list:1', fixtures.ociIndex)
    .store('docker://memory.local/ns/large:1', fixtures.ociLarge);
  return {
    transport,
    single: { reference: parseImageName('docker://memory.local/ns/single:1'), expected: fixtures.ociSingle },
    list: { reference: parseImageName('docker://memory.local/ns/list:1'), expected: fixtures.ociIndex },
    large: { reference: parseImageName('docker://memory.local/ns/large:1'), expected: fixtures.ociLarge },
    missing: parseImageName('docker://memory.local/ns/single:absent'),
    cleanup: async () => undefined,
  };
});
