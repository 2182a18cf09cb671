import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { errorAnswerOf, exchange, parseResponses, readUntilEnd, requestBytes } from '../support/raw-http.js';
import { agentFor, httpRequest, type ListeningProxy, runCli, spawnListening } from '../support/spawn-proxy.js';
import { type E2eImages, writeE2eImages } from './e2e-images.js';

/**
 * A listening proxy acts with the host's credentials for whoever connects: only its owner may.
 * Every case runs the real CLI; servers bind only unix sockets and loopback addresses.
 */

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the proxy closes `socket` without a word within `ms` (a refused connection) rather than leaving it hanging. */
async function closedPromptly(socket: Socket, ms: number): Promise<boolean> {
  const ended = readUntilEnd(socket).then((bytes) => bytes.length === 0);
  return Promise.race([ended, delay(ms).then(() => false)]);
}

describe('end to end: a listening proxy lets in only its owner', function () {
  this.timeout(30000);
  let images: E2eImages;
  let workDir: string;
  let image: string;
  const running: ListeningProxy[] = [];

  before(async () => {
    images = await writeE2eImages();
    workDir = await mkdtemp(join(tmpdir(), 'cip-listen-'));
    image = `oci:${images.layout}:large`;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });
  after(async () => {
    await images?.cleanup();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function listening(address: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; shellSetup?: string } = {}): Promise<ListeningProxy> {
    const proxy = await spawnListening(address, ['--insecure-policy', ...args], { env: { ...process.env, ...options.env }, shellSetup: options.shellSetup });
    running.push(proxy);
    return proxy;
  }

  it('unix:PATH is created with mode 0600 even under umask 000', async () => {
    const path = join(workDir, 'owner.sock');
    await listening(`unix:${path}`, [image], { shellSetup: 'umask 000' });
    const stats = await stat(path);
    expect(stats.isSocket()).to.equal(true);
    expect((stats.mode & 0o777).toString(8)).to.equal('600');
  });

  describe('TCP beyond loopback', () => {
    for (const address of ['192.0.2.1:0', '[2001:db8::1]:0', '127.1:0']) {
      it(`--listen ${address} is a usage error before binding, naming the risk and the flag`, async () => {
        const run = await runCli(['--listen', address, '--insecure-policy', image]);
        expect(run.code).to.equal(2);
        expect(run.stderr).to.match(/^container-image-proxy: [^\n]+\n$/);
        expect(run.stderr).to.contain('not a loopback address').and.to.contain("this host's credentials").and.to.contain('--unsafe-expose-to-network');
      });
    }

    it('--unsafe-expose-to-network still needs a token', async () => {
      const run = await runCli(['--listen', '192.0.2.1:0', '--unsafe-expose-to-network', '--insecure-policy', image], { env: { ...process.env, CONTAINER_IMAGE_PROXY_TOKEN: '' } });
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain('--listen-token-file').and.to.contain('CONTAINER_IMAGE_PROXY_TOKEN');
    });

    it('127.0.0.2 is loopback too: it listens without the flag', async () => {
      const proxy = await listening('127.0.0.2:0', [image]);
      expect(proxy.address).to.match(/^127\.0\.0\.2:\d+$/);
    });
  });

  describe('a token clients must send', () => {
    const TOKEN = 'tok-3f9a1c7e55d2b8a0';

    async function checkTokenRequired(proxy: ListeningProxy): Promise<void> {
      const wrong: readonly Record<string, string>[] = [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: `Basic ${TOKEN}` }];
      for (const headers of wrong) {
        const answer = errorAnswerOf(await exchange(proxy.connect(), requestBytes('GET', '/manifest', headers), { halfClose: true }));
        expect([answer.status, answer.code], JSON.stringify(headers)).to.deep.equal([401, 'client-unauthorized']);
        expect(answer.headers['www-authenticate']).to.match(/^Bearer /);
        expect(answer.message).to.not.contain(TOKEN);
      }
      const refusedQuit = errorAnswerOf(await exchange(proxy.connect(), requestBytes('POST', '/quit'), { halfClose: true }));
      expect(refusedQuit.status).to.equal(401);
      await delay(200);
      expect(proxy.child.exitCode, 'POST /quit without the token does not stop the proxy').to.equal(null);
      const agent = agentFor(proxy);
      const blob = images.fixtures.ociLarge.layers[0]!;
      const answer = await httpRequest(agent, 'GET', `/blobs/${blob.digest}`, { Authorization: `Bearer ${TOKEN}` });
      expect([answer.status, digestOf(answer.body)]).to.deep.equal([200, blob.digest]);
      expect((await httpRequest(agent, 'POST', '/quit', { Authorization: `Bearer ${TOKEN}` })).status).to.equal(200);
      agent.destroy();
      expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
      expect(proxy.stderr()).to.not.contain(TOKEN);
    }

    it('--listen-token-file: every request needs Authorization: Bearer <token>, POST /quit included', async () => {
      const tokenFile = join(workDir, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      await checkTokenRequired(await listening('127.0.0.1:0', ['--listen-token-file', tokenFile, image]));
    });

    it('$CONTAINER_IMAGE_PROXY_TOKEN: the same', async () => {
      await checkTokenRequired(await listening('127.0.0.1:0', [image], { env: { CONTAINER_IMAGE_PROXY_TOKEN: TOKEN } }));
    });

    it('a token file that cannot be read stops the proxy before it listens', async () => {
      const run = await runCli(['--listen', '127.0.0.1:0', '--listen-token-file', join(workDir, 'missing-token'), '--insecure-policy', image]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain('--listen-token-file');
    });

    it('the token options need --listen', async () => {
      for (const args of [['--sockfd', '3', '--listen-token-file', '/t'], ['--sockfd', '3', '--unsafe-expose-to-network']]) {
        const run = await runCli([...args, '--insecure-policy', image]);
        expect(run.code, args.join(' ')).to.equal(2);
        expect(run.stderr).to.contain('only applies with --listen');
      }
    });
  });

  it('--help says who can reach a listening proxy', async () => {
    const run = await runCli(['--help']);
    expect(run.stdout).to.contain('--unsafe-expose-to-network').and.to.contain('--listen-token-file').and.to.contain('every\n').and.to.contain('local user');
  });

  it('short of file descriptors, it keeps serving its connections and refuses new ones at once', async () => {
    const proxy = await listening('127.0.0.1:0', [image], { shellSetup: 'ulimit -n 128' });
    const blob = images.fixtures.ociLarge.layers[0]!;
    const agent = agentFor(proxy);
    expect((await httpRequest(agent, 'GET', '/manifest')).status).to.equal(200);

    const crowd: Socket[] = [];
    for (let i = 0; i < 150; i++) crowd.push(proxy.connect().on('error', () => undefined));
    await Promise.all(crowd.map((socket) => Promise.race([once(socket, 'connect'), once(socket, 'close')])));
    await delay(300);

    // The connection it had still gets a whole blob, which needs a file opened.
    const answer = await httpRequest(agent, 'GET', `/blobs/${blob.digest}`);
    expect([answer.status, answer.complete, digestOf(answer.body)]).to.deep.equal([200, true, blob.digest]);
    expect(await closedPromptly(proxy.connect().on('error', () => undefined), 2000), 'a new connection is closed at once, not left hanging').to.equal(true);

    for (const socket of crowd) socket.destroy();
    await delay(300);
    const [fresh] = parseResponses(await exchange(proxy.connect(), requestBytes('GET', '/version'), { halfClose: true }), ['GET']);
    expect(fresh!.status, 'served again once connections are free').to.equal(200);
    agent.destroy();
    expect(proxy.child.exitCode).to.equal(null);
  });
});
