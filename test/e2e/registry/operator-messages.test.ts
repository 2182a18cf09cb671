import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { FakeRegistry } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { runCli } from '../../support/spawn-proxy.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { dockerReference, errorOf, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * Messages that tell the operator what to do, through the real CLI: a plain-http registry
 * reached over https, credentials refused (and where they came from), a password that is
 * missing, files named on the command line that do not exist, a mistyped option.
 */

const REPOSITORY = 'messages/app';
const USER = 'msg-user';
const PASSWORD = 'Msg-Pa55-right';
const WRONG = 'Msg-Pa55-wrong';

describe('operator messages end to end', function () {
  this.timeout(30_000);
  let workDir: string;
  let plain: FakeRegistry;
  let basic: FakeRegistry;
  let bearer: FakeRegistry;
  let testNumber = 0;
  let extraEnv: NodeJS.ProcessEnv = {};
  const pool = new ProxyPool(() => isolatedEnv(workDir, extraEnv));
  const image = standardFixtures().ociSingle;
  const file = (name: string, content: string): string => {
    const dir = join(workDir, `t${testNumber}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const auth = (password: string) => ({ auth: Buffer.from(`${USER}:${password}`).toString('base64') });

  before(async () => {
    workDir = makeTempDir('e2e-messages');
    plain = await FakeRegistry.start();
    basic = await FakeRegistry.start({ kind: 'basic', username: USER, password: PASSWORD });
    bearer = await FakeRegistry.start({ kind: 'bearer', service: 'svc', users: { [USER]: PASSWORD } });
    for (const registry of [plain, basic, bearer]) {
      registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
      for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    }
  });
  beforeEach(() => {
    testNumber++;
    extraEnv = {};
  });
  afterEach(() => pool.disposeAll());
  after(async () => {
    await Promise.all([plain, basic, bearer].map((registry) => registry?.close()));
    if (workDir) removeTempDir(workDir);
  });

  it('a plain-http registry reached over https: says it speaks http and how to allow it, on one line', async () => {
    const answer = await pool.start('--retry-times', '0', dockerReference(plain.host, REPOSITORY, 'v1')).request('GET', '/manifest');
    const { code, message } = errorOf(answer);
    expect(code).to.equal('network');
    expect(message).to.include(plain.host).and.include('plain http').and.include('--tls-verify=false').and.include('insecure = true');
    expect(message).not.to.include('wrong version number');
    expect(message).not.to.include('\n');
  });

  const refusals: readonly { name: string; registry: () => FakeRegistry; args: () => string[]; source: () => string }[] = [
    {
      name: '--creds on a basic-auth registry',
      registry: () => basic,
      args: () => ['--creds', `${USER}:${WRONG}`],
      source: () => 'credentials from --creds were sent and refused',
    },
    {
      name: '--username/--password on a token registry',
      registry: () => bearer,
      args: () => ['--username', USER, '--password', WRONG],
      source: () => 'credentials from --username/--password were sent and refused',
    },
    {
      name: 'an auth file on a basic-auth registry',
      registry: () => basic,
      args: () => ['--authfile', file('auth.json', JSON.stringify({ auths: { [`${basic.host}/messages`]: auth(WRONG) } }))],
      source: () => `credentials from auth file ${join(workDir, `t${testNumber}`, 'auth.json')}, key "${basic.host}/messages" were sent and refused`,
    },
    {
      name: 'a credential helper on a token registry',
      registry: () => bearer,
      args: () => {
        const bin = join(workDir, `t${testNumber}`, 'bin');
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, 'docker-credential-msgtest'), `#!/bin/sh\ncat >/dev/null\necho '{"Username":"${USER}","Secret":"${WRONG}"}'\n`);
        chmodSync(join(bin, 'docker-credential-msgtest'), 0o755);
        extraEnv = { PATH: `${bin}:${process.env.PATH ?? ''}` };
        return ['--registries-conf', file('registries.conf', 'credential-helpers = ["msgtest"]\n')];
      },
      source: () => 'credentials from credential helper docker-credential-msgtest were sent and refused',
    },
  ];
  for (const { name, registry, args, source } of refusals) {
    it(`refused credentials from ${name}: "unauthorized" saying they were sent and where they came from`, async () => {
      const proxy = pool.start('--tls-verify=false', ...args(), dockerReference(registry().host, REPOSITORY, 'v1'));
      const answer = await proxy.request('GET', '/manifest');
      const { code, message } = errorOf(answer);
      expect(code, message).to.equal('unauthorized');
      expect(message).to.include(registry().host).and.include(source());
      expect(answer.body.toString() + proxy.stderr()).not.to.include(WRONG);
    });
  }

  const usage: readonly [string, string[], RegExp][] = [
    ['--username without --password', ['--username', USER], /--username needs --password/],
    ['--creds USER without a password', ['--creds', USER], /--creds: no password given; write --creds USER:PASSWORD/],
    ['a mistyped option', ['--tls-verfy=false'], /unknown option --tls-verfy \(did you mean --tls-verify\?\)/],
    ['a truncated option', ['--insecure'], /unknown option --insecure \(did you mean --insecure-policy\?\)/],
  ];
  for (const [why, args, message] of usage) {
    it(`${why}: a usage error (exit 2) with one line`, async () => {
      const run = await runCli(['--sockfd', '0', '--insecure-policy', ...args, 'docker://127.0.0.1:1/x:y']);
      expect([run.code, run.stdout]).to.deep.equal([2, '']);
      expect(run.stderr)
        .to.match(/^container-image-proxy: [^\n]+\n$/)
        .and.match(message);
    });
  }

  const missing: readonly [string, string][] = [
    ['--authfile', 'no such file'],
    ['--registries-conf', 'no such file'],
    ['--cert-dir', 'no such directory'],
    ['--registries.d', 'no such directory'],
  ];
  for (const [option, what] of missing) {
    it(`${option} naming nothing: refused at start (exit 1) with one line, like --policy`, async () => {
      const path = join(workDir, 'absent', option.replace(/^--/, ''));
      const run = await runCli(['--sockfd', '0', '--insecure-policy', option, path, 'docker://127.0.0.1:1/x:y'], { env: isolatedEnv(workDir) });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.equal(`container-image-proxy: config-invalid: ${option} ${path}: ${what}\n`);
    });
  }

  it('--cert-dir naming a file: refused at start, saying it is not a directory', async () => {
    const path = file('not-a-dir', '');
    const run = await runCli(['--sockfd', '0', '--insecure-policy', '--cert-dir', path, 'docker://127.0.0.1:1/x:y'], { env: isolatedEnv(workDir) });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(`container-image-proxy: config-invalid: --cert-dir ${path}: not a directory\n`);
  });

  it('-v prints the version as skopeo does', async () => {
    const run = await runCli(['-v']);
    expect([run.code, run.stderr]).to.deep.equal([0, '']);
    expect(run.stdout).to.match(/^container-image-proxy version \d+\.\d+\.\d+\n$/);
  });
});
