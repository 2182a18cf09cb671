import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { type CliCommand, type CliContext, parseCommandLine } from '../../src/app/driving/cli-args.js';
import { parseDuration } from '../../src/app/driving/cli-registry-args.js';
import { VERSION } from '../../src/app/core/version.js';

const context: CliContext = { env: { HOME: '/home/u' }, cwd: '/work/here', homeDir: '/home/u' };
const image = 'docker://quay.io/ns/app:1';

function registryOf(argv: string[], ctx: CliContext = context) {
  const command: CliCommand = parseCommandLine([...argv, image], ctx);
  if (command.kind !== 'serve') expect.fail(`expected serve, got ${JSON.stringify(command)}`);
  return command.proxy.registry!;
}

function usageError(argv: string[]): string {
  const command = parseCommandLine([...argv, image], context);
  if (command.kind !== 'usage-error') expect.fail(`expected a usage error, got ${command.kind}`);
  return command.message;
}

describe('command line: registry options', () => {
  it('defaults: configured credentials, no TLS override, 30 s connect and 60 s idle timeouts', () => {
    expect(registryOf([])).to.deep.include({
      tlsVerify: undefined,
      certDir: undefined,
      credentials: { kind: 'configured', authFile: undefined },
      connectTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
    });
  });

  const credentialCases: [string, string[], unknown][] = [
    ['--creds USER:PASS', ['--creds', 'me:s3cr:et'], { kind: 'explicit', credentials: { username: 'me', password: 's3cr:et', source: '--creds' } }],
    ['--creds USER: (an explicitly empty password)', ['--creds=me:'], { kind: 'explicit', credentials: { username: 'me', password: '', source: '--creds' } }],
    [
      '--username/--password',
      ['--username', 'me', '--password=pw'],
      { kind: 'explicit', credentials: { username: 'me', password: 'pw', source: '--username/--password' } },
    ],
    ['--registry-token', ['--registry-token', 'tok'], { kind: 'explicit', credentials: { registryToken: 'tok', source: '--registry-token' } }],
    ['--no-creds', ['--no-creds'], { kind: 'none' }],
    ['--authfile relative to cwd', ['--authfile', 'auth.json'], { kind: 'configured', authFile: '/work/here/auth.json' }],
  ];
  for (const [why, argv, expected] of credentialCases) {
    it(why, () => expect(registryOf(argv).credentials).to.deep.equal(expected));
  }

  it('REGISTRY_AUTH_FILE is the default auth file, and --authfile beats it', () => {
    const ctx = { ...context, env: { REGISTRY_AUTH_FILE: '/etc/auth.json' } };
    expect(registryOf([], ctx).credentials).to.deep.equal({ kind: 'configured', authFile: '/etc/auth.json' });
    expect(registryOf(['--authfile=/x.json'], ctx).credentials).to.deep.equal({ kind: 'configured', authFile: '/x.json' });
  });

  const exclusive: [string[], string][] = [
    [['--creds', 'a:b', '--username', 'a'], '--creds and --username/--password cannot be used together'],
    [['--creds', 'a:b', '--no-creds'], '--creds and --no-creds cannot be used together'],
    [['--registry-token', 't', '--creds', 'a:b'], '--creds and --registry-token cannot be used together'],
    [['--password', 'pw'], '--password needs --username'],
    [['--username', 'me'], '--username needs --password'],
    [['--creds', 'me'], 'no password given'],
    [['--creds', ':pw'], 'user name is empty'],
  ];
  for (const [argv, message] of exclusive) {
    it(`refuses ${argv.join(' ')}`, () => expect(usageError(argv)).to.contain(message));
  }

  it('never echoes a password in a usage error', () => {
    expect(usageError(['--creds', ':hunter2'])).not.to.contain('hunter2');
  });

  it('--tls-verify=false, --cert-dir, --user-agent-prefix', () => {
    const r = registryOf(['--tls-verify=false', '--cert-dir', 'certs', '--user-agent-prefix', 'bootc/1.0']);
    expect(r).to.deep.include({ tlsVerify: false, certDir: '/work/here/certs', userAgentPrefix: 'bootc/1.0' });
    expect(registryOf(['--tls-verify']).tlsVerify).to.equal(true);
  });

  const durations: [string, number][] = [
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2', 2000],
    ['1.5s', 1500],
    ['1h', 3_600_000],
  ];
  for (const [value, ms] of durations) {
    it(`duration ${value} = ${ms} ms`, () => expect(parseDuration('--idle-timeout', value)).to.equal(ms));
  }
  for (const bad of ['', '0s', '10x', 's', '-1s', '1m 2s']) {
    it(`refuses duration ${JSON.stringify(bad)}`, () => expect(usageError(['--idle-timeout', bad])).to.contain('--idle-timeout'));
  }
  it("parallel blobs: the transport's defaults unless --max-parallel-per-blob and --blob-chunk-size say", () => {
    expect(registryOf([])).to.deep.include({ maxParallelPerBlob: undefined, blobChunkSize: undefined });
    expect(registryOf(['--max-parallel-per-blob', '1', '--blob-chunk-size', '512KiB'])).to.deep.include({ maxParallelPerBlob: 1, blobChunkSize: 512 * 1024 });
    expect(registryOf(['--blob-chunk-size', '16m'])).to.deep.include({ blobChunkSize: 16 * 1024 * 1024 });
    expect(registryOf(['--blob-chunk-size', '1048576'])).to.deep.include({ blobChunkSize: 1024 * 1024 });
    expect(usageError(['--max-parallel-per-blob', '0'])).to.contain('--max-parallel-per-blob "0": expected a number of connections from 1 to 64');
    expect(usageError(['--max-parallel-per-blob', '65'])).to.contain('--max-parallel-per-blob "65"');
    expect(usageError(['--blob-chunk-size', '1KiB'])).to.contain('--blob-chunk-size "1KiB": expected a size from 64KiB to 1GiB');
    expect(usageError(['--blob-chunk-size', 'big'])).to.contain('--blob-chunk-size "big"');
  });

  it('retries: 3 from 1 s by default; --retry-times and --retry-delay', () => {
    expect(registryOf([])).to.deep.include({ retryTimes: 3, retryDelayMs: 1000 });
    expect(registryOf(['--retry-times', '0', '--retry-delay=250ms'])).to.deep.include({ retryTimes: 0, retryDelayMs: 250 });
    expect(usageError(['--retry-times', '-1'])).to.contain('--retry-times "-1"');
    expect(usageError(['--retry-times', 'many'])).to.contain('--retry-times');
    expect(usageError(['--retry-delay', 'soon'])).to.contain('--retry-delay');
  });

  it('timeouts reach the options', () => {
    expect(registryOf(['--connect-timeout=5s', '--idle-timeout', '2m'])).to.deep.include({ connectTimeoutMs: 5000, idleTimeoutMs: 120_000 });
  });
});

describe('version', () => {
  it('src/app/core/version.ts matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });
});
