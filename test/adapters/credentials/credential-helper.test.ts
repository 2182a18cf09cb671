import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CredentialHelper } from '../../../src/adapters/credentials/credential-helper.js';
import { RegistriesConfCredentials } from '../../../src/adapters/credentials/registries-conf-credentials.js';
import { StaticCredentials } from '../../../src/adapters/credentials/static-credentials.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { type DockerReference } from '../../../src/domain/reference.js';
import { type PullSource, type RegistriesConfig } from '../../../src/ports/registries-config.js';
import { everythingShown, expectRejection } from './support.js';

/** registries.conf with nothing in it: every reference pulled from where it names. */
class NoRegistriesConfig implements RegistriesConfig {
  async pullSources(reference: DockerReference): Promise<readonly PullSource[]> {
    return [{ reference, insecure: false, blocked: false }];
  }

  async credentialHelpers(): Promise<readonly string[]> {
    return ['containers-auth.json'];
  }
}

const SECRET = 's3cr3t-never-shown';

/** `docker-credential-<name>` scripts in a private bin directory; the PATH of the runner only. */
class HelperBin {
  readonly dir = mkdtempSync(join(tmpdir(), 'cred-helpers-'));
  readonly stdinLog = join(this.dir, 'stdin.log');

  add(name: string, body: string): void {
    const path = join(this.dir, `docker-credential-${name}`);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
  }

  runner(timeoutMs?: number): CredentialHelper {
    return new CredentialHelper({ env: { PATH: `${this.dir}:/usr/bin:/bin` }, timeoutMs });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('CredentialHelper: the docker-credential-helpers protocol', () => {
  let bin: HelperBin;
  beforeEach(() => (bin = new HelperBin()));
  afterEach(() => bin.remove());

  const answers: { name: string; script: string; expected: object | undefined }[] = [
    {
      name: 'user and secret',
      script: `echo '{"ServerURL":"r","Username":"alice","Secret":"${SECRET}"}'`,
      expected: { username: 'alice', password: SECRET, source: 'credential helper docker-credential-test' },
    },
    {
      name: '<token> user: an identity token',
      script: `echo '{"ServerURL":"r","Username":"<token>","Secret":"${SECRET}"}'`,
      expected: { identityToken: SECRET, source: 'credential helper docker-credential-test' },
    },
    {
      name: '"not found in native keychain" with a failing exit: nothing',
      script: 'echo "credentials not found in native keychain"; exit 1',
      expected: undefined,
    },
    {
      name: 'the not-found message with surrounding whitespace',
      script: 'printf "\\n credentials not found in native keychain \\n"; exit 1',
      expected: undefined,
    },
    { name: 'an empty secret: nothing', script: 'echo \'{"Username":"alice","Secret":""}\'', expected: undefined },
  ];
  for (const { name, script, expected } of answers) {
    it(name, async () => {
      bin.add('test', `cat > /dev/null\n${script}`);
      expect(await bin.runner().get('test', 'reg.local:5000')).to.deep.equal(expected);
    });
  }

  it('writes the registry host to stdin without a newline and passes "get"', async () => {
    bin.add('test', `cat > '${bin.stdinLog}'; echo "$1" >> '${bin.stdinLog}.args'; echo '{"Username":"u","Secret":"p"}'`);
    await bin.runner().get('test', 'reg.local:5000');
    expect(readFileSync(bin.stdinLog, 'utf8')).to.equal('reg.local:5000');
    expect(readFileSync(`${bin.stdinLog}.args`, 'utf8')).to.equal('get\n');
  });

  const failures: { name: string; script?: string; helper?: string; timeoutMs?: number; mentions: string[] }[] = [
    { name: 'a missing helper binary', helper: 'absent', mentions: ['docker-credential-absent', 'not found on PATH', 'reg.local'] },
    {
      name: 'a failing helper: its stderr in the error',
      script: 'echo "keyring locked" >&2; exit 3',
      mentions: ['docker-credential-test', 'exit status 3', 'keyring locked', 'reg.local'],
    },
    { name: 'a helper answering non-JSON', script: `echo "user=${SECRET}"`, mentions: ['not JSON'] },
    { name: 'a helper that hangs is killed at the time limit', script: 'sleep 30', timeoutMs: 300, mentions: ['did not finish within 0.3 s', 'killed'] },
    { name: 'an unsafe helper name', helper: '../x', mentions: ['not a plain program name'] },
  ];
  for (const { name, script, helper, timeoutMs, mentions } of failures) {
    it(`${name} → credential-helper error, no secret shown`, async () => {
      if (script !== undefined) bin.add('test', `cat > /dev/null\n${script}`);
      const started = Date.now();
      const err = await expectRejection(bin.runner(timeoutMs).get(helper ?? 'test', 'reg.local'));
      expect(isProxyError(err, 'credential-helper'), String(err)).to.equal(true);
      for (const text of mentions) expect((err as Error).message).to.include(text);
      expect(everythingShown(err)).not.to.include(SECRET);
      expect(Date.now() - started).to.be.below(10_000);
    });
  }

  it('an aborted signal kills the helper and rejects with the abort reason', async () => {
    bin.add('test', 'sleep 30');
    const controller = new AbortController();
    const pending = bin.runner().get('test', 'reg.local', controller.signal);
    setTimeout(() => controller.abort(new Error('caller gave up')), 100);
    expect(((await expectRejection(pending)) as Error).message).to.equal('caller gave up');
  });
});

describe('RegistriesConfCredentials: the credential-helpers list, tried in order', () => {
  let bin: HelperBin;
  beforeEach(() => (bin = new HelperBin()));
  afterEach(() => bin.remove());

  const target = { registry: 'reg.local', repository: 'reg.local/ns/app' };
  const helpersList = (names: string[]): RegistriesConfig => ({ pullSources: new NoRegistriesConfig().pullSources, credentialHelpers: async () => names });
  const authFiles = new StaticCredentials({ username: 'from-auth-file', password: 'x' });
  const empty = { lookup: async () => undefined };

  it('the default list is the auth-file chain', async () => {
    const store = new RegistriesConfCredentials({ registries: new NoRegistriesConfig(), authFiles, helpers: bin.runner() });
    expect(await store.lookup(target)).to.deep.include({ username: 'from-auth-file' });
  });

  it('first non-empty wins, in list order', async () => {
    bin.add('none', 'echo "credentials not found in native keychain"; exit 1');
    bin.add('pass', 'echo \'{"Username":"from-helper","Secret":"p"}\'');
    const store = new RegistriesConfCredentials({ registries: helpersList(['none', 'pass', 'containers-auth.json']), authFiles, helpers: bin.runner() });
    expect(await store.lookup(target)).to.deep.equal({ username: 'from-helper', password: 'p', source: 'credential helper docker-credential-pass' });
  });

  it('a failing helper does not stop the walk when a later one has credentials', async () => {
    bin.add('broken', 'exit 2');
    const store = new RegistriesConfCredentials({ registries: helpersList(['broken', 'containers-auth.json']), authFiles, helpers: bin.runner() });
    expect(await store.lookup(target)).to.deep.include({ username: 'from-auth-file' });
  });

  it('nothing found and a helper failed (e.g. missing): the failure is the answer', async () => {
    const store = new RegistriesConfCredentials({ registries: helpersList(['containers-auth.json', 'absent']), authFiles: empty, helpers: bin.runner() });
    const err = await expectRejection(store.lookup(target));
    expect(isProxyError(err, 'credential-helper'), String(err)).to.equal(true);
    expect((err as Error).message).to.include('docker-credential-absent');
  });

  it('nothing found anywhere: undefined (anonymous)', async () => {
    bin.add('none', 'echo "credentials not found in native keychain"; exit 1');
    const store = new RegistriesConfCredentials({ registries: helpersList(['containers-auth.json', 'none']), authFiles: empty, helpers: bin.runner() });
    expect(await store.lookup(target)).to.equal(undefined);
  });
});
