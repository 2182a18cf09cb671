import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProxyError } from '../../../src/domain/errors.js';
import { AuthFileCredentials, type CredentialHelperRunner } from '../../../src/adapters/credentials/auth-file-credentials.js';
import { type CredentialTarget, type Credentials } from '../../../src/ports/credential-store.js';
import { expectRejection, withoutSource } from './support.js';

const b64 = (text: string): string => Buffer.from(text, 'binary').toString('base64');
const entry = (user: string, password: string): { auth: string } => ({ auth: b64(`${user}:${password}`) });

function target(repository: string): CredentialTarget {
  const slash = repository.indexOf('/');
  return { registry: slash === -1 ? repository : repository.slice(0, slash), repository };
}

describe('AuthFileCredentials', () => {
  let dir: string;
  let counter = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(contents: unknown): Promise<string> {
    const path = join(dir, `auth-${counter++}.json`);
    await writeFile(path, typeof contents === 'string' ? contents : JSON.stringify(contents));
    return path;
  }

  interface LookupCase {
    readonly name: string;
    readonly contents: unknown;
    readonly legacy?: boolean;
    readonly repository: string;
    readonly want: Credentials | undefined;
  }

  const cases: LookupCase[] = [
    {
      name: 'a namespaced key beats the host key',
      contents: { auths: { 'quay.io': entry('host', 'h'), 'quay.io/ns': entry('ns', 'n') } },
      repository: 'quay.io/ns/repo',
      want: { username: 'ns', password: 'n' },
    },
    {
      name: 'the repository key beats the namespace key',
      contents: { auths: { 'quay.io/ns': entry('ns', 'n'), 'quay.io/ns/repo': entry('repo', 'r') } },
      repository: 'quay.io/ns/repo',
      want: { username: 'repo', password: 'r' },
    },
    {
      name: 'a nested namespace walks up to the host key',
      contents: { auths: { 'quay.io': entry('host', 'h') } },
      repository: 'quay.io/a/b/c',
      want: { username: 'host', password: 'h' },
    },
    {
      name: 'an empty {} at a more specific key blocks the host key of the same file',
      contents: { auths: { 'quay.io/ns': {}, 'quay.io': entry('host', 'h') } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'a null entry blocks like an empty one',
      contents: { auths: { 'quay.io/ns': null, 'quay.io': entry('host', 'h') } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'an entry whose auth has no colon blocks too',
      contents: { auths: { 'quay.io/ns': { auth: b64('nocolon') }, 'quay.io': entry('host', 'h') } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'a sibling namespace does not match',
      contents: { auths: { 'quay.io/other': entry('other', 'o') } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'https://index.docker.io/v1/ matches docker.io',
      contents: { auths: { 'https://index.docker.io/v1/': entry('hub', 'd') } },
      repository: 'docker.io/library/busybox',
      want: { username: 'hub', password: 'd' },
    },
    {
      name: 'registry-1.docker.io matches docker.io',
      contents: { auths: { 'registry-1.docker.io': entry('hub', 'r1') } },
      repository: 'docker.io/library/busybox',
      want: { username: 'hub', password: 'r1' },
    },
    {
      name: 'index.docker.io matches docker.io',
      contents: { auths: { 'index.docker.io': entry('hub', 'ix') } },
      repository: 'docker.io/library/busybox',
      want: { username: 'hub', password: 'ix' },
    },
    {
      name: 'an http:// URL key with a path matches its host',
      contents: { auths: { 'http://quay.io/v1/': entry('old', 'o') } },
      repository: 'quay.io/ns/repo',
      want: { username: 'old', password: 'o' },
    },
    {
      name: 'a URL key keeps its port',
      contents: { auths: { 'https://localhost:5000/v2/': entry('local', 'l') } },
      repository: 'localhost:5000/repo',
      want: { username: 'local', password: 'l' },
    },
    {
      name: 'an exact key beats a normalized one',
      contents: { auths: { 'https://quay.io/v1/': entry('old', 'o'), 'quay.io': entry('new', 'n') } },
      repository: 'quay.io/ns/repo',
      want: { username: 'new', password: 'n' },
    },
    {
      name: 'a namespaced key without a scheme is not cut to its host',
      contents: { auths: { 'quay.io/ns': entry('ns', 'n') } },
      repository: 'quay.io/elsewhere/repo',
      want: undefined,
    },
    {
      name: 'another host does not match',
      contents: { auths: { 'quay.io': entry('q', 'q') } },
      repository: 'ghcr.io/ns/repo',
      want: undefined,
    },
    {
      name: 'legacy: the top level is the auths map',
      contents: { 'quay.io': entry('legacy', 'l') },
      legacy: true,
      repository: 'quay.io/ns/repo',
      want: { username: 'legacy', password: 'l' },
    },
    {
      name: 'legacy: namespaced keys are not looked up exactly',
      contents: { 'quay.io/ns/repo': entry('repo', 'r'), 'quay.io': entry('host', 'h') },
      legacy: true,
      repository: 'quay.io/ns/repo',
      want: { username: 'host', password: 'h' },
    },
    {
      name: 'legacy: a key with a path is cut to its host',
      contents: { 'quay.io/v1/': entry('legacy', 'l') },
      legacy: true,
      repository: 'quay.io/ns/repo',
      want: { username: 'legacy', password: 'l' },
    },
    {
      name: 'legacy: https://index.docker.io/v1/ matches docker.io',
      contents: { 'https://index.docker.io/v1/': entry('hub', 'd') },
      legacy: true,
      repository: 'docker.io/library/alpine',
      want: { username: 'hub', password: 'd' },
    },
    {
      name: 'the password is everything after the first colon',
      contents: { auths: { 'quay.io': entry('user', 'pa:ss:word') } },
      repository: 'quay.io/ns/repo',
      want: { username: 'user', password: 'pa:ss:word' },
    },
    {
      name: 'NULs around the password are trimmed',
      contents: { auths: { 'quay.io': { auth: b64('user:\0\0secret\0') } } },
      repository: 'quay.io/ns/repo',
      want: { username: 'user', password: 'secret' },
    },
    {
      name: 'an identity token travels with the user and password',
      contents: { auths: { 'quay.io': { ...entry('user', 'pw'), identitytoken: 'refresh' } } },
      repository: 'quay.io/ns/repo',
      want: { username: 'user', password: 'pw', identityToken: 'refresh' },
    },
    {
      name: 'an identity token with an empty auth yields nothing',
      contents: { auths: { 'quay.io': { auth: '', identitytoken: 'refresh' } } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'an identity token with a user and no password is usable',
      contents: { auths: { 'quay.io': { auth: b64('<token>:'), identitytoken: 'refresh' } } },
      repository: 'quay.io/ns/repo',
      want: { username: '<token>', password: '', identityToken: 'refresh' },
    },
    {
      name: 'a user without a password is not usable',
      contents: { auths: { 'quay.io': entry('user', '') } },
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'field names match case-insensitively, as Go reads them',
      contents: { Auths: { 'quay.io': { Auth: b64('user:pw'), IdentityToken: 'tok' } } },
      repository: 'quay.io/ns/repo',
      want: { username: 'user', password: 'pw', identityToken: 'tok' },
    },
    {
      name: 'a file without auths has nothing',
      contents: {},
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'a JSON null file has nothing',
      contents: 'null',
      repository: 'quay.io/ns/repo',
      want: undefined,
    },
    {
      name: 'the registry alone as repository finds the host key',
      contents: { auths: { 'localhost:5000': entry('local', 'l') } },
      repository: 'localhost:5000',
      want: { username: 'local', password: 'l' },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const path = await file(c.contents);
      const store = new AuthFileCredentials({ path, legacy: c.legacy ?? false });
      const found = await store.lookup(target(c.repository));
      expect(withoutSource(found)).to.deep.equal(c.want);
      if (found !== undefined) expect(found.source).to.satisfy((source: string) => source.startsWith(`auth file ${path}, key "`));
    });
  }

  it('says which file and which key the credentials came from, never the secret', async () => {
    const path = await file({ auths: { 'quay.io': entry('host', 'h'), 'quay.io/ns': entry('ns', 'n0t-in-source') } });
    const found = await new AuthFileCredentials({ path, legacy: false }).lookup(target('quay.io/ns/repo'));
    expect(found?.source).to.equal(`auth file ${path}, key "quay.io/ns"`);
  });

  describe('credHelpers', () => {
    function recordingRunner(answer: Credentials | undefined): { runner: CredentialHelperRunner; calls: [string, string][] } {
      const calls: [string, string][] = [];
      return {
        calls,
        runner: (helper, registry) => {
          calls.push([helper, registry]);
          return Promise.resolve(answer);
        },
      };
    }

    it('delegates to the helper with the registry host, before looking at auths', async () => {
      const { runner, calls } = recordingRunner({ username: 'from-helper', password: 'hp' });
      const path = await file({ credHelpers: { 'quay.io': 'secretservice' }, auths: { 'quay.io/ns': entry('file', 'f') } });
      const found = await new AuthFileCredentials({ path, legacy: false, runHelper: runner }).lookup(target('quay.io/ns/repo'));
      expect(withoutSource(found)).to.deep.equal({ username: 'from-helper', password: 'hp' });
      expect(found?.source).to.equal(`credential helper docker-credential-secretservice (named in credHelpers of auth file ${path})`);
      expect(calls).to.deep.equal([['secretservice', 'quay.io']]);
    });

    it('a helper that has nothing ends the search in this file', async () => {
      const { runner, calls } = recordingRunner(undefined);
      const path = await file({ credHelpers: { 'quay.io': 'pass' }, auths: { 'quay.io': entry('file', 'f') } });
      expect(await new AuthFileCredentials({ path, legacy: false, runHelper: runner }).lookup(target('quay.io/ns/repo'))).to.equal(undefined);
      expect(calls).to.have.length(1);
    });

    it('a helper identity token is usable', async () => {
      const { runner } = recordingRunner({ identityToken: 'refresh' });
      const path = await file({ credHelpers: { 'quay.io': 'pass' } });
      expect(await new AuthFileCredentials({ path, legacy: false, runHelper: runner }).lookup(target('quay.io/x')).then(withoutSource)).to.deep.equal({
        identityToken: 'refresh',
      });
    });

    it('the host key is exact: index.docker.io does not serve docker.io', async () => {
      const { runner, calls } = recordingRunner({ username: 'from-helper', password: 'hp' });
      const path = await file({ credHelpers: { 'index.docker.io': 'pass' }, auths: { 'docker.io': entry('file', 'f') } });
      const found = await new AuthFileCredentials({ path, legacy: false, runHelper: runner }).lookup(target('docker.io/library/busybox'));
      expect(withoutSource(found)).to.deep.equal({ username: 'file', password: 'f' });
      expect(calls).to.deep.equal([]);
    });

    it('a helper failure is the lookup failure', async () => {
      const path = await file({ credHelpers: { 'quay.io': 'broken' } });
      const failing: CredentialHelperRunner = () => Promise.reject(new Error('helper exploded'));
      const err = await expectRejection(new AuthFileCredentials({ path, legacy: false, runHelper: failing }).lookup(target('quay.io/x')));
      expect((err as Error).message).to.equal('helper exploded');
    });

    it('without a runner a credHelpers entry is a credential-helper error naming the file and helper', async () => {
      const path = await file({ credHelpers: { 'quay.io': 'osxkeychain' } });
      const err = await expectRejection(new AuthFileCredentials({ path, legacy: false }).lookup(target('quay.io/x')));
      expect(isProxyError(err, 'credential-helper')).to.equal(true);
      expect((err as Error).message)
        .to.contain(path)
        .and.to.contain('osxkeychain');
    });
  });

  describe('reading the file', () => {
    it('a missing file has nothing', async () => {
      const store = new AuthFileCredentials({ path: join(dir, 'does-not-exist.json'), legacy: false });
      expect(await store.lookup(target('quay.io/x'))).to.equal(undefined);
    });

    it('reads lazily on the first lookup and keeps what it read', async () => {
      const path = join(dir, 'lazy.json');
      const store = new AuthFileCredentials({ path, legacy: false });
      await writeFile(path, JSON.stringify({ auths: { 'quay.io': entry('first', '1') } }));
      expect(withoutSource(await store.lookup(target('quay.io/x')))).to.deep.equal({ username: 'first', password: '1' });
      await writeFile(path, JSON.stringify({ auths: { 'quay.io': entry('second', '2') } }));
      expect(withoutSource(await store.lookup(target('quay.io/x')))).to.deep.equal({ username: 'first', password: '1' });
    });

    it('an unreadable path is config-invalid naming the file', async () => {
      const path = join(dir, 'a-directory.json');
      await mkdir(path);
      const err = await expectRejection(new AuthFileCredentials({ path, legacy: false }).lookup(target('quay.io/x')));
      expect(isProxyError(err, 'config-invalid')).to.equal(true);
      expect((err as Error).message).to.contain(path);
    });

    it('rejects a repository that is not on the registry', async () => {
      const path = await file({});
      const err = await expectRejection(new AuthFileCredentials({ path, legacy: false }).lookup({ registry: 'quay.io', repository: 'ghcr.io/x' }));
      expect(isProxyError(err, 'internal')).to.equal(true);
    });

    it('honours an aborted signal', async () => {
      const path = await file({ auths: { 'quay.io': entry('u', 'p') } });
      const err = await expectRejection(new AuthFileCredentials({ path, legacy: false }).lookup(target('quay.io/x'), AbortSignal.abort()));
      expect((err as Error).name).to.equal('AbortError');
    });
  });
});
