import { expect } from 'chai';
import { RequestedRegistryOnly } from '../../../src/adapters/credentials/requested-registry-only.js';
import { StaticCredentials } from '../../../src/adapters/credentials/static-credentials.js';

describe('RequestedRegistryOnly: explicit credentials never reach a mirror on another domain', () => {
  const store = new RequestedRegistryOnly(new StaticCredentials({ username: 'u', password: 'p' }));
  const cases: { name: string; registry: string; requestedRegistry: string | undefined; answers: boolean }[] = [
    { name: 'the registry asked for', registry: 'reg.example.com', requestedRegistry: 'reg.example.com', answers: true },
    { name: 'a mirror on another host', registry: 'mirror.local', requestedRegistry: 'reg.example.com', answers: false },
    { name: 'the same host on another port is another domain', registry: 'reg.example.com:5000', requestedRegistry: 'reg.example.com', answers: false },
    { name: 'no requested registry known (no registries.conf in play)', registry: 'reg.example.com', requestedRegistry: undefined, answers: true },
  ];
  for (const { name, registry, requestedRegistry, answers } of cases) {
    it(name, async () => {
      const found = await store.lookup({ registry, repository: `${registry}/ns/app`, requestedRegistry });
      expect(found !== undefined).to.equal(answers);
    });
  }
});
