import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyError, isProxyError } from '../../../src/domain/errors.js';
import { authFileChain } from '../../../src/adapters/credentials/auth-file-chain.js';
import { authFilePaths } from '../../../src/adapters/credentials/auth-file-paths.js';
import { ChainCredentialStore } from '../../../src/adapters/credentials/chain-credential-store.js';
import { ANONYMOUS, NoCredentials } from '../../../src/adapters/credentials/no-credentials.js';
import { StaticCredentials, parseCredsOption } from '../../../src/adapters/credentials/static-credentials.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../../src/ports/credential-store.js';
import { expectRejection, withoutSource } from './support.js';

const quay: CredentialTarget = { registry: 'quay.io', repository: 'quay.io/ns/repo' };

/** A store with a fixed answer that counts how often it was asked. */
class Scripted implements CredentialStore {
  calls = 0;
  constructor(private readonly answer: Credentials | undefined | Error) {}
  lookup(): Promise<Credentials | undefined> {
    this.calls++;
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer);
  }
}

describe('StaticCredentials and NoCredentials', () => {
  it('static credentials answer every target', async () => {
    const store = new StaticCredentials({ username: 'u', password: 'p' });
    expect(await store.lookup(quay)).to.deep.equal({ username: 'u', password: 'p' });
    expect(await store.lookup({ registry: 'ghcr.io', repository: 'ghcr.io/x' })).to.deep.equal({ username: 'u', password: 'p' });
  });

  it('a registry token is passed as is', async () => {
    expect(await new StaticCredentials({ registryToken: 'bearer' }).lookup(quay)).to.deep.equal({ registryToken: 'bearer' });
  });

  it('--no-creds answers the empty, anonymous credentials', async () => {
    expect(await new NoCredentials().lookup(quay))
      .to.equal(ANONYMOUS)
      .and.deep.equal({});
  });

  it('--no-creds stops a chain before the stores behind it', async () => {
    const behind = new Scripted({ username: 'u', password: 'p' });
    expect(await new ChainCredentialStore([new NoCredentials(), behind]).lookup(quay)).to.deep.equal({});
    expect(behind.calls).to.equal(0);
  });

  const credsOptions: [string, Credentials][] = [
    ['user:pass', { username: 'user', password: 'pass' }],
    ['user:', { username: 'user', password: '' }],
    ['user:pa:ss', { username: 'user', password: 'pa:ss' }],
  ];
  for (const [value, want] of credsOptions) {
    it(`--creds ${value}`, () => {
      expect(parseCredsOption(value)).to.deep.equal(want);
    });
  }

  it('--creds user (no password) is refused, as a sidecar cannot prompt for one', () => {
    expect(() => parseCredsOption('user')).to.throw(/no password given/);
  });
});

describe('ChainCredentialStore', () => {
  it('the first answer wins and later stores are not asked', async () => {
    const first = new Scripted(undefined);
    const second = new Scripted({ username: 'second', password: 's' });
    const third = new Scripted({ username: 'third', password: 't' });
    expect(await new ChainCredentialStore([first, second, third]).lookup(quay)).to.deep.equal({ username: 'second', password: 's' });
    expect([first.calls, second.calls, third.calls]).to.deep.equal([1, 1, 0]);
  });

  it('nothing anywhere is undefined', async () => {
    expect(await new ChainCredentialStore([new Scripted(undefined), new Scripted(undefined)]).lookup(quay)).to.equal(undefined);
    expect(await new ChainCredentialStore([]).lookup(quay)).to.equal(undefined);
  });

  it('a failing store does not hide a later answer', async () => {
    const chain = new ChainCredentialStore([
      new Scripted(new ProxyError('credential-helper', 'helper a failed')),
      new Scripted({ username: 'u', password: 'p' }),
    ]);
    expect(await chain.lookup(quay)).to.deep.equal({ username: 'u', password: 'p' });
  });

  it('when nothing is found, the failure is reported', async () => {
    const failure = new ProxyError('credential-helper', 'helper a failed');
    const err = await expectRejection(new ChainCredentialStore([new Scripted(failure), new Scripted(undefined)]).lookup(quay));
    expect(err).to.equal(failure);
  });

  it('several failures are reported together, with the first code', async () => {
    const chain = new ChainCredentialStore([new Scripted(new ProxyError('credential-helper', 'helper a failed')), new Scripted(new Error('helper b failed'))]);
    const err = await expectRejection(chain.lookup(quay));
    expect(isProxyError(err, 'credential-helper')).to.equal(true);
    expect((err as Error).message)
      .to.contain('quay.io')
      .and.to.contain('helper a failed')
      .and.to.contain('helper b failed');
  });

  it('stopAtFirstError ends the search at the first failure', async () => {
    const later = new Scripted({ username: 'u', password: 'p' });
    const failure = new ProxyError('config-invalid', 'bad file');
    const err = await expectRejection(new ChainCredentialStore([new Scripted(failure), later], { stopAtFirstError: true }).lookup(quay));
    expect(err).to.equal(failure);
    expect(later.calls).to.equal(0);
  });

  it('an aborted signal stops the chain', async () => {
    const store = new Scripted({ username: 'u', password: 'p' });
    const err = await expectRejection(new ChainCredentialStore([store]).lookup(quay, AbortSignal.abort()));
    expect((err as Error).name).to.equal('AbortError');
    expect(store.calls).to.equal(0);
  });
});

describe('authFileChain', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-chain-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, contents: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, contents);
    return path;
  }
  const auth = (text: string): string => Buffer.from(text).toString('base64');

  it('an entry blocked in one file falls through to the next file', async () => {
    const first = await write('first.json', JSON.stringify({ auths: { 'quay.io/ns': {}, 'quay.io': { auth: auth('first:1') } } }));
    const second = await write('second.json', JSON.stringify({ auths: { 'quay.io': { auth: auth('second:2') } } }));
    const chain = authFileChain([
      { path: first, legacy: false },
      { path: join(dir, 'missing.json'), legacy: false },
      { path: second, legacy: false },
    ]);
    expect(await chain.lookup(quay)).to.deep.equal({ username: 'second', password: '2', source: `auth file ${second}, key "quay.io"` });
  });

  it('the legacy file is read in its own format', async () => {
    const legacy = await write('dockercfg', JSON.stringify({ 'https://quay.io/v1/': { auth: auth('old:o') } }));
    expect(await authFileChain([{ path: legacy, legacy: true }]).lookup(quay)).to.deep.equal({
      username: 'old',
      password: 'o',
      source: `auth file ${legacy}, key "https://quay.io/v1/"`,
    });
  });

  it('a broken file ends the search even if a later file has credentials', async () => {
    const broken = await write('broken.json', '{');
    const good = await write('good.json', JSON.stringify({ auths: { 'quay.io': { auth: auth('good:g') } } }));
    const err = await expectRejection(
      authFileChain([
        { path: broken, legacy: false },
        { path: good, legacy: false },
      ]).lookup(quay),
    );
    expect(isProxyError(err, 'config-invalid')).to.equal(true);
    expect((err as Error).message).to.contain(broken);
  });

  it('passes the helper runner to every file', async () => {
    const file = await write('helpers.json', JSON.stringify({ credHelpers: { 'quay.io': 'pass' } }));
    const chain = authFileChain([{ path: file, legacy: false }], (helper, registry) => Promise.resolve({ username: helper, password: registry }));
    expect(withoutSource(await chain.lookup(quay))).to.deep.equal({ username: 'pass', password: 'quay.io' });
  });
});

describe('authFilePaths', () => {
  const home = '/home/u';
  const cases: [string, Record<string, string | undefined>, string[]][] = [
    ['no variables', {}, ['/run/containers/1000/auth.json', '/home/u/.config/containers/auth.json', '/home/u/.docker/config.json', '/home/u/.dockercfg']],
    [
      'XDG_RUNTIME_DIR and XDG_CONFIG_HOME',
      { XDG_RUNTIME_DIR: '/run/user/1000', XDG_CONFIG_HOME: '/cfg' },
      ['/run/user/1000/containers/auth.json', '/cfg/containers/auth.json', '/home/u/.docker/config.json', '/home/u/.dockercfg'],
    ],
    [
      'DOCKER_CONFIG replaces ~/.docker only',
      { DOCKER_CONFIG: '/etc/dockercfg' },
      ['/run/containers/1000/auth.json', '/home/u/.config/containers/auth.json', '/etc/dockercfg/config.json', '/home/u/.dockercfg'],
    ],
    [
      'empty variables count as unset',
      { XDG_RUNTIME_DIR: '', XDG_CONFIG_HOME: '', DOCKER_CONFIG: '' },
      ['/run/containers/1000/auth.json', '/home/u/.config/containers/auth.json', '/home/u/.docker/config.json', '/home/u/.dockercfg'],
    ],
  ];
  for (const [name, env, want] of cases) {
    it(name, () => {
      const paths = authFilePaths(env, home, 1000);
      expect(paths.map((p) => p.path)).to.deep.equal(want);
      expect(paths.map((p) => p.legacy)).to.deep.equal([false, false, false, true]);
    });
  }
});
