import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isProxyError } from '../../../src/domain/errors.js';
import { DockerEngineApi, type EngineApiOptions } from '../../../src/adapters/docker-daemon/engine-api.js';

/** The engine client against a fake engine on a unix socket: the export's size bound, its file, Docker's TLS files. */
describe('DockerEngineApi', () => {
  let dir: string;
  let server: Server;
  let socketPath: string;
  let body: Buffer;
  /** When set, the engine takes requests and never answers them. */
  let silent = false;
  /** When set, the engine announces the body's length. */
  let announced = false;
  /** When set, the engine refuses with an error body it sends a byte at a time, without end. */
  let trickling = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'engine-api-'));
    socketPath = join(dir, 'engine.sock');
    server = createServer((_req, res) => {
      if (silent) return;
      if (trickling) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.write('slow refusal');
        const drip = setInterval(() => res.write('.'), 20);
        res.once('close', () => clearInterval(drip));
        return;
      }
      res.writeHead(200, announced ? { 'Content-Length': body.length } : {});
      // Sent in pieces, as an engine streams an export.
      for (let at = 0; at < body.length; at += 4096) res.write(body.subarray(at, at + 4096));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function api(options: Partial<EngineApiOptions> = {}): DockerEngineApi {
    return new DockerEngineApi({
      endpoint: { kind: 'unix', path: socketPath, description: `unix://${socketPath} (test)` },
      connectTimeoutMs: 5000,
      answerTimeoutMs: 5000,
      idleTimeoutMs: 5000,
      maxExportBytes: 1 << 20,
      ...options,
    });
  }

  it('writes the export to the file, whole, and counts it', async () => {
    body = Buffer.alloc(100_000, 3);
    const path = join(dir, 'whole.tar');
    const file = await open(path, 'w');
    try {
      expect(await api().exportImage('app:v1', file)).to.equal(100_000);
    } finally {
      await file.close();
    }
    expect(readFileSync(path).equals(body)).to.equal(true);
  });

  it('stops an export larger than the bound with engine-error, having written no more than the bound', async () => {
    body = Buffer.alloc(50_000, 1);
    const path = join(dir, 'large.tar');
    const file = await open(path, 'w');
    try {
      await api({ maxExportBytes: 20_000 })
        .exportImage('app:v1', file)
        .then(
          () => expect.fail('an oversized export was accepted'),
          (err: unknown) => {
            expect(isProxyError(err, 'engine-error'), String(err)).to.equal(true);
            expect((err as Error).message).to.include('sent more than 20000 bytes for app:v1');
          },
        );
    } finally {
      await file.close();
    }
    expect(readFileSync(path).length).to.be.at.most(20_000);
  });

  it('refuses an export whose announced length is over the bound before writing any of it', async () => {
    body = Buffer.alloc(50_000, 1);
    announced = true;
    const path = join(dir, 'announced.tar');
    const file = await open(path, 'w');
    try {
      const err = await api({ maxExportBytes: 20_000 })
        .exportImage('app:v1', file)
        .then(
          () => expect.fail('an oversized export was accepted'),
          (failure: unknown) => failure as Error,
        );
      expect(isProxyError(err, 'engine-error'), String(err)).to.equal(true);
      expect(err.message).to.include('announced 50000 bytes for app:v1, more than the 20000 an export may have');
    } finally {
      announced = false;
      await file.close();
    }
    expect(readFileSync(path).length).to.equal(0);
  });

  it('reads a refusal that never ends for idleTimeoutMs at most, and reports what arrived', async () => {
    trickling = true;
    const file = await open(join(dir, 'refused.tar'), 'w');
    const started = performance.now();
    try {
      const err = await api({ idleTimeoutMs: 400 })
        .exportImage('app:v1', file)
        .then(
          () => expect.fail('a refused export was accepted'),
          (failure: unknown) => failure as Error,
        );
      expect(isProxyError(err, 'engine-error'), String(err)).to.equal(true);
      expect(err.message).to.include('refused to export app:v1 (HTTP 500): slow refusal...');
      expect(performance.now() - started).to.be.within(350, 3000);
    } finally {
      trickling = false;
      await file.close();
    }
  });

  it('gives the engine answerTimeoutMs to begin its answer, then fails with timeout', async () => {
    silent = true;
    const file = await open(join(dir, 'silent.tar'), 'w');
    const started = Date.now();
    try {
      await api({ answerTimeoutMs: 300, idleTimeoutMs: 100 })
        .exportImage('app:v1', file)
        .then(
          () => expect.fail('an export without an answer'),
          (err: unknown) => {
            expect(isProxyError(err, 'timeout'), String(err)).to.equal(true);
            expect((err as Error).message).to.include('did not begin its answer within 300 ms');
          },
        );
    } finally {
      silent = false;
      await file.close();
    }
    expect(Date.now() - started, 'the idle timeout does not cut the wait for the answer short').to.be.at.least(280);
  });

  const unusable: [string, Record<string, string>, string][] = [
    [
      'a key that is not PEM',
      { 'key.pem': '-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n', 'cert.pem': 'CERT' },
      'cert.pem, key.pem',
    ],
    [
      'a certificate that is not one beside a good key',
      {
        'cert.pem': 'SECRET-KEY-MATERIAL',
        'key.pem': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      },
      'cert.pem, key.pem',
    ],
  ];
  for (const [what, files, used] of unusable) {
    it(`refuses ${what} with config-invalid naming the directory, never the files' contents`, async () => {
      const certs = mkdtempSync(join(dir, 'certs-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(certs, name), text);
      const file = await open(join(dir, 'tls.tar'), 'w');
      try {
        const err = await api({ endpoint: { kind: 'tcp', host: '127.0.0.1', port: 1, tls: { certDir: certs }, description: 'tcp://127.0.0.1:1 (test)' } })
          .exportImage('app:v1', file)
          .then(
            () => expect.fail('exported with unusable TLS files'),
            (failure: unknown) => failure as Error,
          );
        expect(isProxyError(err, 'config-invalid'), String(err)).to.equal(true);
        expect(err.message).to.include(`the engine's TLS files in ${certs} (${used}) cannot be used: `).and.not.include('SECRET');
      } finally {
        await file.close();
      }
    });
  }

  it('refuses a client certificate without its key, naming the directory', async () => {
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    writeFileSync(join(certs, 'cert.pem'), 'not used');
    const file = await open(join(dir, 'tls.tar'), 'w');
    try {
      await api({ endpoint: { kind: 'tcp', host: '127.0.0.1', port: 1, tls: { certDir: certs }, description: 'tcp://127.0.0.1:1 (test)' } })
        .exportImage('app:v1', file)
        .then(
          () => expect.fail('exported without a key'),
          (err: unknown) => {
            expect(isProxyError(err, 'config-invalid'), String(err)).to.equal(true);
            expect((err as Error).message).to.include(`${certs} holds cert.pem but no key.pem`);
          },
        );
    } finally {
      await file.close();
    }
  });
});
