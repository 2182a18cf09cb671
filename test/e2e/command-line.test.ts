import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { expect } from 'chai';
import { CLI_PATH, httpRequest, REPO_ROOT, runCli } from '../support/spawn-proxy.js';
import { type E2eImages, writeE2eImages } from './e2e-images.js';

describe('end to end: the command line', function () {
  this.timeout(30000);

  const usageErrors: readonly [string, string[], RegExp][] = [
    ['two IMAGEs', ['oci:/a', 'oci:/b'], /expected one IMAGE/],
    ['an unknown option', ['--bogus', 'oci:/a'], /unknown option --bogus/],
    ['a missing value', ['oci:/a', '--sockfd'], /--sockfd needs a value/],
    ['an IMAGE without transport', ['busybox'], /invalid image reference "busybox"/],
    ['standard input that is not a socket', ['--insecure-policy', 'oci:/a'], /standard input is not a socket/],
  ];
  for (const [why, args, message] of usageErrors) {
    it(`exits 2 with one line on stderr for ${why}`, async () => {
      const run = await runCli(args);
      expect(run.code).to.equal(2);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.match(/^container-image-proxy: [^\n]+\n$/);
      expect(run.stderr).to.match(message);
    });
  }

  it('exits 1 with one line when the signature policy cannot be read', async () => {
    const run = await runCli(['--sockfd', '0', '--policy', '/nonexistent/policy.json', 'oci:/a']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^container-image-proxy: policy-invalid: [^\n]*\/nonexistent\/policy\.json[^\n]*\n$/);
  });

  it('--version prints the package version, as skopeo prints its own', async () => {
    const { version } = JSON.parse(await readFile(new URL('package.json', `file://${REPO_ROOT}`), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect([run.code, run.stdout, run.stderr]).to.deep.equal([0, `container-image-proxy version ${version}\n`, '']);
  });

  it('--help prints the usage on stdout', async () => {
    const run = await runCli(['--help']);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^Usage: container-image-proxy \[OPTIONS\] \[IMAGE\]/);
    for (const option of ['--sockfd', '--listen', '--override-os', '--override-arch', '--override-variant', '--policy', '--insecure-policy', '--quiet']) {
      expect(run.stdout).to.contain(option);
    }
  });

  describe('--listen', () => {
    let images: E2eImages;
    before(async () => {
      images = await writeE2eImages();
    });
    after(async () => {
      await images.cleanup();
    });

    it('serves several connections, then quits with 0', async () => {
      const child = spawn(process.execPath, [CLI_PATH, '--listen', '127.0.0.1:0', '--insecure-policy', `oci:${images.layout}:single`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let text = '';
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
            const match = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
            if (match) resolve(Number(match[1]));
          });
          child.once('exit', () => reject(new Error(`the proxy exited: ${text}`)));
        });
        const agents = [0, 1].map(() => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          agent.createConnection = () => connect(port, '127.0.0.1');
          return agent;
        });
        const answers = await Promise.all(agents.map((agent) => httpRequest(agent, 'GET', '/manifest')));
        expect(answers.map((a) => a.headers['instance-digest'])).to.deep.equal([0, 1].map(() => images.fixtures.ociSingle.manifest.digest));
        expect((await httpRequest(agents[0]!, 'POST', '/quit')).status).to.equal(200);
        agents.forEach((agent) => agent.destroy());
        expect(await exited).to.equal(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
