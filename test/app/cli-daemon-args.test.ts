import { expect } from 'chai';
import { type CliCommand, type CliContext, parseCommandLine } from '../../src/app/driving/cli-args.js';

const context: CliContext = { env: {}, cwd: '/work/here', homeDir: '/home/u' };
const image = 'docker-daemon:busybox:1';
const DOCKER_DIR = { certDir: '/home/u/.docker' };

function endpointOf(argv: string[], env: Record<string, string> = {}) {
  const command: CliCommand = parseCommandLine([...argv, image], { ...context, env });
  if (command.kind !== 'serve') expect.fail(`expected serve, got ${JSON.stringify(command)}`);
  return command.proxy.daemon!.endpoint;
}

describe('command line: the Docker engine of docker-daemon:', () => {
  it('defaults to /var/run/docker.sock', () => {
    expect(endpointOf([])).to.deep.equal({ kind: 'unix', path: '/var/run/docker.sock', description: 'unix:///var/run/docker.sock (the default)' });
  });

  const hosts: [string, string[], Record<string, string>, unknown][] = [
    [
      '--daemon-host unix://PATH',
      ['--daemon-host', 'unix:///run/e.sock'],
      {},
      { kind: 'unix', path: '/run/e.sock', description: 'unix:///run/e.sock (--daemon-host)' },
    ],
    [
      'a relative socket, against the working directory',
      ['--daemon-host=unix://e.sock'],
      {},
      { kind: 'unix', path: '/work/here/e.sock', description: 'unix://e.sock (--daemon-host)' },
    ],
    [
      '--daemon-host tcp:// is TLS, as containers/image reads it',
      ['--daemon-host', 'tcp://engine.example:1234'],
      {},
      { kind: 'tcp', host: 'engine.example', port: 1234, tls: DOCKER_DIR, description: 'tcp://engine.example:1234 (--daemon-host)' },
    ],
    [
      'tcp:// without a port: 2376 with TLS',
      ['--daemon-host', 'tcp://10.0.0.5'],
      {},
      { kind: 'tcp', host: '10.0.0.5', port: 2376, tls: DOCKER_DIR, description: 'tcp://10.0.0.5 (--daemon-host)' },
    ],
    [
      'http:// is plain, 2375 by default',
      ['--daemon-host', 'http://engine/'],
      {},
      { kind: 'tcp', host: 'engine', port: 2375, tls: undefined, description: 'http://engine/ (--daemon-host)' },
    ],
    [
      'https:// and a bracketed IPv6 address',
      ['--daemon-host', 'https://[::1]:8443'],
      {},
      { kind: 'tcp', host: '::1', port: 8443, tls: DOCKER_DIR, description: 'https://[::1]:8443 (--daemon-host)' },
    ],
    [
      '$DOCKER_HOST tcp:// is plain without $DOCKER_TLS_VERIFY, as docker reads it',
      [],
      { DOCKER_HOST: 'tcp://127.0.0.1:2375' },
      { kind: 'tcp', host: '127.0.0.1', port: 2375, tls: undefined, description: 'tcp://127.0.0.1:2375 ($DOCKER_HOST)' },
    ],
    [
      '$DOCKER_TLS_VERIFY turns TLS on; $DOCKER_CERT_PATH, relative, holds the files',
      [],
      { DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: 'certs' },
      { kind: 'tcp', host: 'h', port: 2376, tls: { certDir: '/work/here/certs' }, description: 'tcp://h ($DOCKER_HOST)' },
    ],
    [
      '$DOCKER_TLS turns TLS on too, as in docker (verified here, where docker does not verify)',
      [],
      { DOCKER_HOST: 'tcp://h', DOCKER_TLS: '1' },
      { kind: 'tcp', host: 'h', port: 2376, tls: DOCKER_DIR, description: 'tcp://h ($DOCKER_HOST)' },
    ],
    [
      'an empty $DOCKER_TLS leaves TLS off',
      [],
      { DOCKER_HOST: 'tcp://h', DOCKER_TLS: '' },
      { kind: 'tcp', host: 'h', port: 2375, tls: undefined, description: 'tcp://h ($DOCKER_HOST)' },
    ],
    [
      '$DOCKER_CERT_PATH alone does not turn TLS on (docker does not either)',
      [],
      { DOCKER_HOST: 'tcp://h:1', DOCKER_CERT_PATH: '/c' },
      { kind: 'tcp', host: 'h', port: 1, tls: undefined, description: 'tcp://h:1 ($DOCKER_HOST)' },
    ],
    [
      '--daemon-host wins over $DOCKER_HOST',
      ['--daemon-host', 'unix:///a.sock'],
      { DOCKER_HOST: 'unix:///b.sock' },
      { kind: 'unix', path: '/a.sock', description: 'unix:///a.sock (--daemon-host)' },
    ],
    [
      'an empty --daemon-host and an empty $DOCKER_HOST mean the default',
      ['--daemon-host='],
      { DOCKER_HOST: '' },
      { kind: 'unix', path: '/var/run/docker.sock', description: 'unix:///var/run/docker.sock (the default)' },
    ],
    [
      'unix:// alone is the default socket',
      [],
      { DOCKER_HOST: 'unix://' },
      { kind: 'unix', path: '/var/run/docker.sock', description: 'unix:// ($DOCKER_HOST)' },
    ],
  ];
  for (const [why, argv, env, expected] of hosts) {
    it(why, () => expect(endpointOf(argv, env)).to.deep.equal(expected));
  }

  const refused: [string, string][] = [
    ['ssh://me@engine', 'ssh:// is not supported: the docker CLI reaches an engine over ssh by running ssh, which the proxy does not; forward its socket'],
    ['npipe:////./pipe/docker_engine', 'npipe:// is a Windows named pipe, which does not exist on Linux; expected unix://PATH'],
    ['fd://', 'fd:// is where dockerd itself listens (socket activation), not an address a client can reach; expected unix://PATH'],
    ['ftp://engine', 'expected unix://PATH, tcp://HOST[:PORT], http://HOST[:PORT] or https://HOST[:PORT]'],
    ['engine:2375', 'expected unix://PATH'],
    ['tcp://engine:0', 'is not HOST[:PORT]'],
    ['tcp://engine:02375', 'is not HOST[:PORT]'],
    ['tcp://engine:65536', 'port 65536 is out of range'],
    ['tcp://engine:2375/v1.41', 'is not HOST[:PORT]'],
    ['tcp://', 'is not HOST[:PORT]'],
  ];
  for (const [host, reason] of refused) {
    it(`--daemon-host ${host} is a usage error`, () => {
      const command = parseCommandLine(['--daemon-host', host, image], context);
      if (command.kind !== 'usage-error') expect.fail(`expected a usage error, got ${command.kind}`);
      expect(command.message)
        .to.include(`--daemon-host ${JSON.stringify(host)}`)
        .and.include(reason);
    });
    it(`$DOCKER_HOST=${host} is kept as a problem for docker-daemon: images, not a usage error`, () => {
      const endpoint = endpointOf([], { DOCKER_HOST: host });
      expect(endpoint.kind).to.equal('invalid');
      expect((endpoint as { problem: string }).problem)
        .to.include(`$DOCKER_HOST ${JSON.stringify(host)}`)
        .and.include(reason);
    });
  }

  // A password has no place in an engine address, but one written there must not reach an error.
  const withPasswords: [string, string][] = [
    ['tcp://user:hunter2@engine:2375', '"tcp://user:xxxxx@engine:2375": "user:xxxxx@engine:2375" is not HOST[:PORT]'],
    ['https://u:p@ss:w@rd@engine', '"https://u:xxxxx@engine": "u:xxxxx@engine" is not HOST[:PORT]'],
    ['ssh://me:hunter2@engine', '"ssh://me:xxxxx@engine": ssh:// is not supported'],
    ['ftp://me:hunter2@engine/x', '"ftp://me:xxxxx@engine/x": expected unix://PATH'],
  ];
  for (const [host, shown] of withPasswords) {
    it(`${host} is refused without its password, from --daemon-host and from $DOCKER_HOST`, () => {
      const command = parseCommandLine(['--daemon-host', host, image], context);
      if (command.kind !== 'usage-error') expect.fail(`expected a usage error, got ${command.kind}`);
      const problem = (endpointOf([], { DOCKER_HOST: host }) as { problem: string }).problem;
      for (const message of [command.message, problem]) {
        expect(message)
          .to.include(shown)
          .and.not.match(/hunter2|w@rd|ss:w/);
      }
    });
  }
});
