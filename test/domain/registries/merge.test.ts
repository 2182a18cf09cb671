import { expect } from 'chai';
import { dockerName } from '../../../src/domain/reference.js';
import { conf } from './support.js';

const DROP_IN = '/etc/containers/registries.conf.d/10-a.conf';
const LATER = '/home/u/.config/containers/registries.conf.d/20-b.conf';

describe('registries.conf drop-in merge, as containers/image merges drop-ins', () => {
  it('a drop-in [[registry]] with the same prefix replaces the whole table, no field-level merge', () => {
    const merged = conf('[[registry]]\nlocation = "reg.local"\ninsecure = true\n[[registry.mirror]]\nlocation = "m.local"\n', [
      DROP_IN,
      '[[registry]]\nlocation = "reg.local"\n',
    ]);
    expect(merged.registries).to.have.length(1);
    expect(merged.registries[0]).to.include({ insecure: false, origin: DROP_IN });
    expect(merged.registries[0]?.mirrors).to.deep.equal([]);
  });

  it('entries with other prefixes are kept, and the result is sorted by prefix', () => {
    const merged = conf('[[registry]]\nlocation = "z.local"\n', [DROP_IN, '[[registry]]\nlocation = "a.local"\n']);
    expect(merged.registries.map((r) => r.prefix)).to.deep.equal(['a.local', 'z.local']);
  });

  const lists: { name: string; dropIn: string; search: string[]; helpers: string[] }[] = [
    { name: 'absent keys inherit', dropIn: '', search: ['quay.io'], helpers: ['pass'] },
    {
      name: 'an explicit [] clears (helpers fall back to the default)',
      dropIn: 'unqualified-search-registries = []\ncredential-helpers = []\n',
      search: [],
      helpers: ['containers-auth.json'],
    },
    {
      name: 'set keys replace',
      dropIn: 'unqualified-search-registries = ["docker.io"]\ncredential-helpers = ["secretservice", "containers-auth.json"]\n',
      search: ['docker.io'],
      helpers: ['secretservice', 'containers-auth.json'],
    },
  ];
  for (const { name, dropIn, search, helpers } of lists) {
    it(`lists: ${name}`, () => {
      const merged = conf('unqualified-search-registries = ["quay.io"]\ncredential-helpers = ["pass"]\n', [DROP_IN, dropIn]);
      expect(merged.unqualifiedSearchRegistries).to.deep.equal(search);
      expect(merged.credentialHelpers).to.deep.equal(helpers);
    });
  }

  it('short-name-mode is replaced only when set', () => {
    expect(conf('short-name-mode = "enforcing"\n', [DROP_IN, '']).shortNameMode).to.equal('enforcing');
    expect(conf('short-name-mode = "enforcing"\n', [DROP_IN, 'short-name-mode = "disabled"\n']).shortNameMode).to.equal('disabled');
  });

  it('aliases merge key by key, "" erases, later drop-ins win', () => {
    const merged = conf(
      '[aliases]\nbusybox = "docker.io/library/busybox"\nfedora = "registry.fedoraproject.org/fedora"\nalpine = "docker.io/library/alpine"\n',
      [DROP_IN, '[aliases]\nfedora = ""\nalpine = "quay.io/x/alpine"\n'],
      [LATER, '[aliases]\nalpine = "quay.io/y/alpine"\n'],
    );
    expect(Object.fromEntries([...merged.aliases].map(([k, v]) => [k, dockerName(v)]))).to.deep.equal({
      busybox: 'docker.io/library/busybox',
      alpine: 'quay.io/y/alpine',
    });
  });
});
