import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf } from '../../src/domain/digest.js';
import { FakeRegistry } from '../support/fake-registry.js';
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
  const running: { dispose(): Promise<void> }[] = [];

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
      const run = await runCli(['--listen', '192.0.2.1:0', '--unsafe-expose-to-network', '--insecure-policy', image], {
        env: { ...process.env, CONTAINER_IMAGE_PROXY_TOKEN: '' },
      });
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

    it('$CONTAINER_IMAGE_PROXY_TOKEN is trimmed like the file, refused naming the variable (never the value) when not one word, and not passed on', async () => {
      const run = await runCli(['--listen', '127.0.0.1:0', '--insecure-policy', image], { env: { ...process.env, CONTAINER_IMAGE_PROXY_TOKEN: 'two words' } });
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain('$CONTAINER_IMAGE_PROXY_TOKEN').and.to.contain('one token').and.not.to.contain('two words');
      // A trailing newline, as `export X=$(cat file)` keeps none but `read` or a heredoc may leave one.
      const helperDir = await mkdtemp(join(workDir, 'helper-'));
      const seen = join(helperDir, 'seen-env');
      const helper = join(helperDir, 'docker-credential-envdump');
      await writeFile(helper, `#!/bin/sh\nenv > ${seen}\necho '{"ServerURL":"","Username":"u","Secret":"p"}'\n`, { mode: 0o755 });
      const authFile = join(helperDir, 'auth.json');
      const registry = await FakeRegistry.start({ kind: 'basic', username: 'u', password: 'p' });
      running.push({ dispose: () => registry.close() });
      await writeFile(authFile, JSON.stringify({ credHelpers: { [registry.host]: 'envdump' } }));
      const proxy = await listening('127.0.0.1:0', ['--authfile', authFile, '--tls-verify=false', image], {
        env: { CONTAINER_IMAGE_PROXY_TOKEN: ` ${TOKEN}\n`, PATH: `${helperDir}:${process.env['PATH'] ?? ''}` },
      });
      const agent = agentFor(proxy);
      expect((await httpRequest(agent, 'GET', '/version', { Authorization: `Bearer ${TOKEN}` })).status).to.equal(200);
      await httpRequest(agent, 'GET', `/manifest?image=${encodeURIComponent(`docker://${registry.host}/some/image:1`)}`, { Authorization: `Bearer ${TOKEN}` });
      agent.destroy();
      const helperEnv = await readFile(seen, 'utf8');
      expect(helperEnv, 'the credential helper ran').to.contain('PATH=');
      expect(helperEnv).to.not.contain('CONTAINER_IMAGE_PROXY_TOKEN').and.not.to.contain(TOKEN);
    });

    it('a refused request closes its connection: what was pipelined after it is not answered', async () => {
      const proxy = await listening('127.0.0.1:0', [image], { env: { CONTAINER_IMAGE_PROXY_TOKEN: TOKEN } });
      const bytes = await exchange(proxy.connect(), requestBytes('GET', '/version') + requestBytes('GET', '/version', { Authorization: `Bearer ${TOKEN}` }));
      const answer = errorAnswerOf(bytes);
      expect([answer.status, answer.code, answer.headers['connection']]).to.deep.equal([401, 'client-unauthorized', 'close']);
    });

    it('connections that complete no request within the headers timeout are closed, so they cannot hold every slot; one that showed the token may idle', async () => {
      const proxy = await listening('127.0.0.1:0', [image], {
        env: { CONTAINER_IMAGE_PROXY_TOKEN: TOKEN, CONTAINER_IMAGE_PROXY_HEADERS_TIMEOUT: '1s' },
        shellSetup: 'ulimit -n 128',
      });
      const authorized = { Authorization: `Bearer ${TOKEN}` };
      const agent = agentFor(proxy);
      expect((await httpRequest(agent, 'GET', '/version', authorized)).status).to.equal(200);
      // With 128 descriptors the proxy accepts 21 connections at most: these take every slot left.
      const silent: Socket[] = [];
      for (let i = 0; i < 30; i++) silent.push(proxy.connect().on('error', () => undefined));
      await Promise.all(silent.map((socket) => Promise.race([once(socket, 'connect'), once(socket, 'close')])));
      const ended = silent.map((socket) => readUntilEnd(socket));
      await delay(2000);
      await Promise.race([Promise.all(ended), delay(1000)]);
      expect(silent.filter((socket) => !socket.destroyed).length, 'silent connections still open after the timeout').to.equal(0);
      const fresh = agentFor(proxy);
      const answer = await httpRequest(fresh, 'GET', '/manifest', authorized).catch((err: Error) => err);
      expect(answer instanceof Error ? answer.message : answer.status).to.equal(200);
      fresh.destroy();
      expect(
        (await httpRequest(agent, 'GET', '/manifest', authorized)).status,
        'the authorized connection idled past the timeout and is still served',
      ).to.equal(200);
      agent.destroy();
    });

    it('a token file that cannot be read stops the proxy before it listens', async () => {
      const run = await runCli(['--listen', '127.0.0.1:0', '--listen-token-file', join(workDir, 'missing-token'), '--insecure-policy', image]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain('--listen-token-file');
    });

    it('the token options need --listen', async () => {
      for (const args of [
        ['--sockfd', '3', '--listen-token-file', '/t'],
        ['--sockfd', '3', '--unsafe-expose-to-network'],
      ]) {
        const run = await runCli([...args, '--insecure-policy', image]);
        expect(run.code, args.join(' ')).to.equal(2);
        expect(run.stderr).to.contain('only applies with --listen');
      }
    });
  });

  describe('a web page cannot use a TCP listener', () => {
    const refusals: readonly [string, Record<string, string>][] = [
      ['a foreign Host (DNS rebinding)', { Host: 'attacker.example:PORT' }],
      ['an Origin', { Origin: 'http://attacker.example:PORT' }],
      ['Sec-Fetch-Site', { 'Sec-Fetch-Site': 'cross-site' }],
      ['Sec-Fetch-Mode', { 'Sec-Fetch-Mode': 'no-cors' }],
    ];

    it('requests with browser-only headers or a Host other than loopback are 403 client-forbidden; a cross-site POST /quit does not stop it', async () => {
      const proxy = await listening('127.0.0.1:0', [image]);
      const port = proxy.address.slice(proxy.address.lastIndexOf(':') + 1);
      for (const [why, headers] of refusals) {
        const filled = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('PORT', port)]));
        const answer = errorAnswerOf(
          await exchange(proxy.connect(), requestBytes('GET', `/manifest?image=${encodeURIComponent(image)}`, filled), { halfClose: true }),
        );
        expect([answer.status, answer.code], why).to.deep.equal([403, 'client-forbidden']);
      }
      const quit = requestBytes('POST', '/quit', { 'Content-Type': 'text/plain', Origin: 'https://evil.example' });
      expect(errorAnswerOf(await exchange(proxy.connect(), quit, { halfClose: true })).status).to.equal(403);
      await delay(200);
      expect(proxy.child.exitCode, 'still running').to.equal(null);
      for (const host of [`127.0.0.1:${port}`, 'localhost', `localhost:${port}`, '127.0.0.1']) {
        const [answer] = parseResponses(await exchange(proxy.connect(), requestBytes('GET', '/version', { Host: host }), { halfClose: true }), ['GET']);
        expect(answer!.status, host).to.equal(200);
      }
      const [noHost] = parseResponses(await exchange(proxy.connect(), 'GET /version HTTP/1.1\r\n\r\n', { halfClose: true }), ['GET']);
      expect(noHost!.status, 'no Host header').to.equal(200);
    });

    it('a unix socket is not checked: only local users can reach it, and browsers cannot', async () => {
      const proxy = await listening(`unix:${join(workDir, 'browser.sock')}`, [image]);
      const [answer] = parseResponses(
        await exchange(proxy.connect(), requestBytes('GET', '/version', { Host: 'attacker.example', Origin: 'http://attacker.example' }), { halfClose: true }),
        ['GET'],
      );
      expect(answer!.status).to.equal(200);
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
    expect(
      await closedPromptly(
        proxy.connect().on('error', () => undefined),
        2000,
      ),
      'a new connection is closed at once, not left hanging',
    ).to.equal(true);

    for (const socket of crowd) socket.destroy();
    await delay(300);
    const [fresh] = parseResponses(await exchange(proxy.connect(), requestBytes('GET', '/version'), { halfClose: true }), ['GET']);
    expect(fresh!.status, 'served again once connections are free').to.equal(200);
    agent.destroy();
    expect(proxy.child.exitCode).to.equal(null);
  });
});
