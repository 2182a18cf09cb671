import { expect } from 'chai';
import { isProxyError } from '../../../src/domain/errors.js';
import { dockerName } from '../../../src/domain/reference.js';
import { MAIN, conf, file } from './support.js';

function failure(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    expect(isProxyError(err, 'config-invalid'), String(err)).to.equal(true);
    return err as Error;
  }
  return expect.fail('expected a config-invalid error');
}

describe('registries.conf validation: what containers/image refuses, named in the error', () => {
  const invalid: { name: string; toml: string; mentions: string; role?: 'drop-in' }[] = [
    { name: 'an http:// location', toml: '[[registry]]\nlocation = "http://reg.local"\n', mentions: 'URI schemes are not supported' },
    { name: 'an https:// prefix', toml: '[[registry]]\nprefix = "https://reg.local"\nlocation = "reg.local"\n', mentions: 'URI schemes are not supported' },
    {
      name: 'an https:// mirror',
      toml: '[[registry]]\nlocation = "reg.local"\n[[registry.mirror]]\nlocation = "https://m.local"\n',
      mentions: 'URI schemes are not supported',
    },
    { name: 'neither prefix nor location', toml: '[[registry]]\ninsecure = true\n', mentions: 'both location and prefix are unset' },
    { name: 'no location for a plain prefix', toml: '[[registry]]\nprefix = "example.com"\n', mentions: 'location is unset' },
    { name: 'a wildcard prefix with a path', toml: '[[registry]]\nprefix = "*.example.com/foo"\n', mentions: 'must have the form *.example.com' },
    { name: 'a wildcard prefix with a port', toml: '[[registry]]\nprefix = "*.example.com:5000"\n', mentions: 'must have the form *.example.com' },
    { name: 'a wildcard prefix with an @', toml: '[[registry]]\nprefix = "*.example.com@x"\n', mentions: 'must have the form *.example.com' },
    {
      name: 'an empty mirror location',
      toml: '[[registry]]\nlocation = "reg.local"\n[[registry.mirror]]\ninsecure = true\n',
      mentions: 'mirror location is unset',
    },
    {
      name: 'pull-from-mirror on the registry',
      toml: '[[registry]]\nlocation = "reg.local"\npull-from-mirror = "all"\n',
      mentions: 'pull-from-mirror may only be set on a [[registry.mirror]]',
    },
    {
      name: 'pull-from-mirror with mirror-by-digest-only',
      toml: '[[registry]]\nlocation = "reg.local"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.local"\npull-from-mirror = "tag-only"\n',
      mentions: 'mirror-by-digest-only',
    },
    {
      name: 'an unknown pull-from-mirror',
      toml: '[[registry]]\nlocation = "reg.local"\n[[registry.mirror]]\nlocation = "m.local"\npull-from-mirror = "sometimes"\n',
      mentions: 'unsupported pull-from-mirror value "sometimes"',
    },
    {
      name: 'conflicting insecure for one location',
      toml: '[[registry]]\nprefix = "a.local/x"\nlocation = "reg.local"\ninsecure = true\n[[registry]]\nprefix = "a.local/y"\nlocation = "reg.local"\n',
      mentions: "conflicting 'insecure'",
    },
    {
      name: 'conflicting blocked for one wildcard prefix',
      toml: '[[registry]]\nprefix = "*.example.com"\nblocked = true\n[[registry]]\nprefix = "*.example.com"\n',
      mentions: "conflicting 'blocked'",
    },
    {
      name: 'a search registry with a path',
      toml: 'unqualified-search-registries = ["quay.io/ns"]\n',
      mentions: 'invalid unqualified-search-registries entry "quay.io/ns"',
    },
    { name: 'an unknown short-name-mode', toml: 'short-name-mode = "prompt"\n', mentions: 'invalid short-name-mode "prompt"' },
    {
      name: 'v1 mixed with v2',
      toml: 'unqualified-search-registries = ["quay.io"]\n[registries.search]\nregistries = ["docker.io"]\n',
      mentions: 'mixing the v1',
    },
    { name: 'a v1 drop-in', toml: '[registries.block]\nregistries = ["evil.local"]\n', mentions: 'must be in the v2 format', role: 'drop-in' },
    {
      name: 'a string where a boolean belongs',
      toml: '[[registry]]\nlocation = "reg.local"\ninsecure = "yes"\n',
      mentions: '"insecure" must be true or false',
    },
    { name: 'registry as a plain table', toml: '[registry]\nlocation = "reg.local"\n', mentions: 'must be an array of tables' },
    { name: 'a number in credential-helpers', toml: 'credential-helpers = [1]\n', mentions: '"credential-helpers" must be an array of strings' },
    { name: 'an alias key with a registry', toml: '[aliases]\n"quay.io/x" = "quay.io/x"\n', mentions: 'must not contain a registry' },
    { name: 'an alias key with a tag', toml: '[aliases]\n"x:1" = "quay.io/x"\n', mentions: 'must not contain a tag' },
    { name: 'an alias value without a registry', toml: '[aliases]\nx = "library/x"\n', mentions: 'must contain a registry' },
    { name: 'an alias value with a tag', toml: '[aliases]\nx = "quay.io/x:1"\n', mentions: 'must not contain a tag' },
  ];
  for (const { name, toml, mentions, role } of invalid) {
    it(`refuses ${name}, naming the file`, () => {
      const path = role === 'drop-in' ? '/etc/containers/registries.conf.d/50-x.conf' : MAIN;
      const err = failure(() => file(toml, path, role ?? 'main'));
      expect(err.message).to.include(path).and.include(mentions);
    });
  }

  it('trims trailing slashes from prefix and location, and defaults the prefix to the location', () => {
    const [entry] = file('[[registry]]\nlocation = "reg.local/ns/"\n[[registry.mirror]]\nlocation = "m.local//"\n').registries;
    expect(entry).to.include({ prefix: 'reg.local/ns', location: 'reg.local/ns' });
    expect(entry?.mirrors[0]?.location).to.equal('m.local');
  });

  it('keeps the first of duplicate prefixes and sorts by prefix in byte order', () => {
    const parsed = file(`
[[registry]]
prefix = "b.local"
location = "first.local"
[[registry]]
prefix = "b.local"
location = "second.local"
[[registry]]
prefix = "a.example.com"
location = "a.example.com"
[[registry]]
prefix = "*.example.com"
`);
    expect(parsed.registries.map((r) => `${r.prefix}=${r.location}`)).to.deep.equal(['*.example.com=', 'a.example.com=a.example.com', 'b.local=first.local']);
  });

  it('ignores unknown keys', () => {
    expect(file('future-key = 1\n[[registry]]\nlocation = "reg.local"\nnew-setting = "x"\n').registries).to.have.length(1);
  });

  it('converts the v1 format: blocked and insecure hosts become registries, search the search list', () => {
    const parsed = file(`
[registries.search]
registries = ["quay.io", "docker.io"]
[registries.insecure]
registries = ["insecure.local", "both.local/"]
[registries.block]
registries = ["both.local", "blocked.local"]
`);
    expect(parsed.unqualifiedSearchRegistries).to.deep.equal(['quay.io', 'docker.io']);
    expect(parsed.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked])).to.deep.equal([
      ['blocked.local', 'blocked.local', false, true],
      ['both.local', 'both.local', true, true],
      ['insecure.local', 'insecure.local', true, false],
    ]);
  });

  it('a v1 table without its registries key is not v1, so v2 keys beside it are fine', () => {
    expect(file('unqualified-search-registries = ["quay.io"]\n[registries.search]\n').unqualifiedSearchRegistries).to.deep.equal(['quay.io']);
  });

  it('defaults: credential-helpers is containers-auth.json, short-name-mode permissive', () => {
    expect(conf('')).to.deep.include({ credentialHelpers: ['containers-auth.json'], shortNameMode: 'permissive', unqualifiedSearchRegistries: [] });
    expect(conf('credential-helpers = []\n').credentialHelpers).to.deep.equal(['containers-auth.json']);
  });

  it('normalizes alias values', () => {
    const merged = conf('[aliases]\nbusybox = "docker.io/busybox"\n');
    const target = merged.aliases.get('busybox');
    expect(target && dockerName(target)).to.equal('docker.io/library/busybox');
  });
});
