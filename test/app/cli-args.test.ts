import { expect } from 'chai';
import { ProxyError } from '../../src/domain/errors.js';
import { type ImageReference } from '../../src/domain/reference.js';
import { type CliCommand, type CliContext, parseCommandLine } from '../../src/app/driving/cli-args.js';

/** A stand-in grammar, so these tests exercise argv handling and not the reference parser. */
function fakeParseImage(value: string): ImageReference {
  if (value.startsWith('oci:')) return { transport: 'oci', path: value.slice(4) };
  if (value.startsWith('dir:')) return { transport: 'dir', path: value.slice(4) };
  if (value.startsWith('docker://')) return { transport: 'docker', docker: { domain: 'docker.io', path: value.slice(9) } };
  throw new ProxyError('invalid-reference', `invalid image reference ${JSON.stringify(value)}`);
}

const context: CliContext = { env: { HOME: '/home/u' }, cwd: '/work/here', homeDir: '/home/u', parseImage: fakeParseImage };
const parse = (...argv: string[]): CliCommand => parseCommandLine(argv, context);

function serveOf(command: CliCommand): Extract<CliCommand, { kind: 'serve' }> {
  if (command.kind !== 'serve') expect.fail(`expected serve, got ${JSON.stringify(command)}`);
  return command;
}

describe('command line', () => {
  describe('accepts skopeo/pflag spellings', () => {
    const cases: readonly [string, string[], (c: Extract<CliCommand, { kind: 'serve' }>) => unknown, unknown][] = [
      ['--sockfd N before IMAGE', ['--sockfd', '3', 'oci:/l'], (c) => c.serve, { kind: 'fd', fd: 3 }],
      ['--sockfd=N after IMAGE', ['oci:/l', '--sockfd=7'], (c) => c.serve, { kind: 'fd', fd: 7 }],
      ['no --sockfd: standard input', ['oci:/l'], (c) => c.serve, { kind: 'stdin' }],
      [
        '--listen HOST:PORT',
        ['--listen', '127.0.0.1:0', 'oci:/l'],
        (c) => c.serve,
        { kind: 'listen', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, token: undefined },
      ],
      [
        '--listen=unix:PATH',
        ['--listen=unix:/run/p.sock', 'oci:/l'],
        (c) => c.serve,
        { kind: 'listen', address: { kind: 'unix', path: '/run/p.sock' }, token: undefined },
      ],
      ['-q', ['-q', 'oci:/l'], (c) => c.quiet, true],
      ['--quiet=false', ['--quiet=false', 'oci:/l'], (c) => c.quiet, false],
      ['--quiet=true', ['oci:/l', '--quiet=true'], (c) => c.quiet, true],
      ['no --quiet', ['oci:/l'], (c) => c.quiet, false],
      ['the last occurrence wins', ['-q', 'oci:/l', '--quiet=0'], (c) => c.quiet, false],
      ['--insecure-policy', ['--insecure-policy', 'oci:/l'], (c) => c.proxy.insecurePolicy, true],
      ['--insecure-policy=F', ['--insecure-policy=F', 'oci:/l'], (c) => c.proxy.insecurePolicy, false],
      ['--policy relative to cwd', ['--policy', 'conf/policy.json', 'oci:/l'], (c) => c.proxy.policyPath, '/work/here/conf/policy.json'],
      ['--policy=absolute', ['--policy=/etc/p.json', 'oci:/l'], (c) => c.proxy.policyPath, '/etc/p.json'],
      ['no --policy', ['oci:/l'], (c) => c.proxy.policyPath, undefined],
      [
        'platform overrides',
        ['--override-os', 'linux', '--override-arch=arm64', 'oci:/l', '--override-variant', 'v8'],
        (c) => c.proxy.platform,
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
      ['an empty override is no override', ['--override-arch=', 'oci:/l'], (c) => c.proxy.platform.architecture, undefined],
      ['a relative oci: path is resolved against cwd', ['oci:layouts/img'], (c) => c.proxy.image, { transport: 'oci', path: '/work/here/layouts/img' }],
      ['a relative dir: path is resolved against cwd', ['dir:../img'], (c) => c.proxy.image, { transport: 'dir', path: '/work/img' }],
      ['an absolute path is kept', ['oci:/abs/img'], (c) => c.proxy.image, { transport: 'oci', path: '/abs/img' }],
      [
        'docker references are not paths',
        ['docker://busybox'],
        (c) => c.proxy.image,
        { transport: 'docker', docker: { domain: 'docker.io', path: 'busybox' } },
      ],
      ['-- ends the options', ['--sockfd', '3', '--', 'oci:/-q'], (c) => c.proxy.image, { transport: 'oci', path: '/-q' }],
      ['environment and home are passed through', ['oci:/l'], (c) => [c.proxy.env, c.proxy.homeDir], [{ HOME: '/home/u' }, '/home/u']],
    ];
    for (const [why, argv, pick, expected] of cases) {
      it(why, () => {
        expect(pick(serveOf(parse(...argv)))).to.deep.equal(expected);
      });
    }
  });

  describe('help and version', () => {
    const cases: readonly [string[], CliCommand['kind']][] = [
      [['--help'], 'help'],
      [['-h', 'oci:/l'], 'help'],
      [['--version'], 'version'],
      [['oci:/l', '--version=true'], 'version'],
      [['--version=false', 'oci:/l'], 'serve'],
      [['-v'], 'version'],
    ];
    for (const [argv, kind] of cases) {
      it(`${argv.join(' ')} → ${kind}`, () => {
        expect(parse(...argv).kind).to.equal(kind);
      });
    }
  });

  describe('usage errors name the problem', () => {
    const cases: readonly [string, string[], RegExp][] = [
      ['two IMAGEs', ['oci:/a', 'oci:/b'], /expected one IMAGE, got 2/],
      ['an unknown long option', ['--frobnicate', 'oci:/l'], /unknown option --frobnicate/],
      ['an unknown short option', ['-x', 'oci:/l'], /unknown option -x/],
      ['a mistyped option, with the closest known one', ['--tls-verfy=false', 'oci:/l'], /unknown option --tls-verfy \(did you mean --tls-verify\?\)/],
      ['a truncated option, with the one it begins', ['--retry', '2', 'oci:/l'], /unknown option --retry \(did you mean --retry-times\?\)/],
      ['an option like no other, without a guess', ['--frobnicate', 'oci:/l'], /^unknown option --frobnicate$/],
      ['an unknown log level', ['--log-level', 'trace', 'oci:/l'], /--log-level "trace": expected error, warn, info, debug/],
      ['a value option at the end', ['oci:/l', '--sockfd'], /option --sockfd needs a value/],
      ['a boolean with a non-boolean value', ['--quiet=yes', 'oci:/l'], /--quiet takes true or false, not "yes"/],
      ['a non-numeric fd', ['--sockfd', 'three', 'oci:/l'], /--sockfd "three": expected a file descriptor number/],
      ['a negative fd', ['--sockfd=-1', 'oci:/l'], /--sockfd "-1"/],
      ['both --sockfd and --listen', ['--sockfd', '3', '--listen', '127.0.0.1:1', 'oci:/l'], /cannot be used together/],
      ['a listen address without port', ['--listen', 'localhost', 'oci:/l'], /expected HOST:PORT/],
      ['an IMAGE the grammar refuses', ['nonsense'], /invalid image reference "nonsense"/],
    ];
    for (const [why, argv, message] of cases) {
      it(why, () => {
        const command = parse(...argv);
        expect(command.kind).to.equal('usage-error');
        expect(command.kind === 'usage-error' ? command.message : '').to.match(message);
      });
    }
  });

  describe('who may reach a listening proxy', () => {
    const withEnv = (env: Record<string, string>, ...argv: string[]) => parseCommandLine(argv, { ...context, env: { ...context.env, ...env } });
    for (const host of ['127.0.0.2', '127.255.255.254', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', 'localhost', 'LOCALHOST']) {
      it(`${host} is loopback: no flag, no token needed`, () => {
        expect(serveOf(parse('--listen', `${host}:80`, 'oci:/l')).serve).to.have.property('kind', 'listen');
      });
    }
    it('beyond loopback: --unsafe-expose-to-network and a token file, resolved against cwd', () => {
      expect(serveOf(parse('--listen', '0.0.0.0:80', '--unsafe-expose-to-network', '--listen-token-file', 'tok', 'oci:/l')).serve).to.deep.equal({
        kind: 'listen',
        address: { kind: 'tcp', host: '0.0.0.0', port: 80 },
        token: { kind: 'file', path: '/work/here/tok' },
      });
    });
    it('the token may come from $CONTAINER_IMAGE_PROXY_TOKEN; a file wins over it', () => {
      const env = { CONTAINER_IMAGE_PROXY_TOKEN: 'from-env' };
      expect(serveOf(withEnv(env, '--listen', '[::]:80', '--unsafe-expose-to-network', 'oci:/l')).serve).to.have.deep.property('token', {
        kind: 'value',
        value: 'from-env',
      });
      expect(serveOf(withEnv(env, '--listen', '127.0.0.1:80', '--listen-token-file', '/t', 'oci:/l')).serve).to.have.deep.property('token', {
        kind: 'file',
        path: '/t',
      });
    });
    const refused: readonly [string, string[], RegExp][] = [
      ['a network address without the flag', ['--listen', '0.0.0.0:80'], /not a loopback address.*--unsafe-expose-to-network/],
      ['the flag without a token', ['--listen', '0.0.0.0:80', '--unsafe-expose-to-network'], /needs a token/],
      ['the flag on a unix socket', ['--listen', 'unix:/s', '--unsafe-expose-to-network'], /TCP --listen/],
      ['the flag without --listen', ['--unsafe-expose-to-network'], /only applies with --listen/],
      ['a token file without --listen', ['--sockfd', '3', '--listen-token-file', '/t'], /only applies with --listen/],
      ['an empty token file name', ['--listen', '127.0.0.1:80', '--listen-token-file='], /needs a file name/],
    ];
    for (const [why, argv, message] of refused) {
      it(`refuses ${why}`, () => {
        const command = parse(...argv, 'oci:/l');
        expect(command.kind === 'usage-error' ? command.message : '').to.match(message);
      });
    }
    it('the headers timeout test hook is read from the environment', () => {
      expect(serveOf(withEnv({ CONTAINER_IMAGE_PROXY_HEADERS_TIMEOUT: '250ms' }, 'oci:/l')).headersTimeoutMs).to.equal(250);
      expect(serveOf(parse('oci:/l')).headersTimeoutMs).to.equal(undefined);
    });
  });

  describe('listen addresses', () => {
    const cases: readonly [string, unknown][] = [
      ['127.0.0.1:8080', { kind: 'tcp', host: '127.0.0.1', port: 8080 }],
      ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
      ['[::1]:65535', { kind: 'tcp', host: '::1', port: 65535 }],
      ['unix:relative.sock', { kind: 'unix', path: 'relative.sock' }],
    ];
    for (const [value, expected] of cases) {
      it(value, () => expect(serveOf(parse('--listen', value, 'oci:/l')).serve).to.deep.equal({ kind: 'listen', address: expected, token: undefined }));
    }
    for (const value of ['127.0.0.1:65536', '::1:80', ':80', 'unix:', 'host:port', '0.0.0.0:80', '[::]:80', 'example.com:80', '10.0.0.1:80', '127.1:80']) {
      it(`refuses ${value}`, () => {
        const command = parse('--listen', value, 'oci:/l');
        expect(command.kind === 'usage-error' ? command.message : '').to.match(/--listen/);
      });
    }
  });

  describe('log levels', () => {
    const cases: readonly [string[], string][] = [
      [[], 'warn'],
      [['--log-level', 'error'], 'error'],
      [['--log-level=warn'], 'warn'],
      [['--log-level', 'info'], 'info'],
      [['--log-level', 'debug'], 'debug'],
      [['--debug'], 'debug'],
    ];
    for (const [argv, level] of cases) {
      it(`${argv.join(' ') || 'nothing'} → ${level}`, () => expect(serveOf(parse(...argv, 'oci:/l')).logLevel).to.equal(level));
    }
  });

  it('lists the files and directories the command line names, to check before serving', () => {
    const command = serveOf(parse('--authfile', 'a.json', '--cert-dir=/certs', '--registries-conf', 'r.conf', '--registries.d', 'd', 'oci:/l'));
    expect(command.namedPaths).to.deep.equal([
      { option: '--registries-conf', path: '/work/here/r.conf', kind: 'file' },
      { option: '--authfile', path: '/work/here/a.json', kind: 'file' },
      { option: '--cert-dir', path: '/certs', kind: 'directory' },
      { option: '--registries.d', path: '/work/here/d', kind: 'directory' },
    ]);
  });

  it('IMAGE is optional: requests then name their image', () => {
    expect(serveOf(parse('--sockfd', '3')).proxy.image).to.equal(undefined);
  });

  it('uses the real image-name grammar by default', () => {
    const { parseImage: _unused, ...realContext } = context;
    const command = serveOf(parseCommandLine(['oci:layout:latest'], realContext));
    expect(command.proxy.image).to.deep.equal({ transport: 'oci', path: '/work/here/layout', reference: 'latest' });
    expect(parseCommandLine(['busybox'], realContext).kind).to.equal('usage-error');
  });
});
