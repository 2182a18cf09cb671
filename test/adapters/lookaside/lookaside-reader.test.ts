import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Agent } from 'undici';
import { type Digest } from '../../../src/domain/digest.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { LookasideReader, lookasideDirectory, MAX_LOOKASIDE_SIGNATURES } from '../../../src/adapters/lookaside/lookaside-reader.js';
import { MAX_SIGNATURE_BYTES } from '../../../src/domain/size-limits.js';

const DIGEST = `sha256:${'c'.repeat(64)}` as Digest;
const DIR_NAME = `library/busybox@sha256=${'c'.repeat(64)}`;

describe('lookaside signature storage', () => {
  let dir: string;
  let agent: Agent;
  let server: Server | undefined;
  let reader: LookasideReader;
  const requested: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookaside-'));
    agent = new Agent();
    reader = new LookasideReader({ dispatcher: agent, idleMs: 5000 });
    requested.length = 0;
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await agent.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  const serve = async (answer: (path: string) => { status: number; body?: Buffer }): Promise<string> => {
    server = createServer((req, res) => {
      requested.push(req.url ?? '');
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status).end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  };

  it('places signatures under the repository path with algo=hex', () => {
    expect(lookasideDirectory('https://example.com/lookaside', 'library/busybox', DIGEST).href).to.equal(`https://example.com/lookaside/${DIR_NAME}`);
    expect(lookasideDirectory('file:///var/lib/sigs/', 'a/b', DIGEST).href).to.equal(`file:///var/lib/sigs/a/b@sha256=${'c'.repeat(64)}`);
  });

  it('file://: reads signature-1, signature-2, … until the first missing one', async () => {
    const sigDir = join(dir, DIR_NAME);
    mkdirSync(sigDir, { recursive: true });
    writeFileSync(join(sigDir, 'signature-1'), 'one');
    writeFileSync(join(sigDir, 'signature-2'), 'two');
    writeFileSync(join(sigDir, 'signature-4'), 'after a gap, never read');
    const signatures = await reader.read(`file://${dir}`, 'library/busybox', DIGEST);
    expect(signatures.map((s) => Buffer.from(s).toString())).to.deep.equal(['one', 'two']);
  });

  it('file://: no directory means no signatures', async () => {
    expect(await reader.read(`file://${dir}`, 'library/busybox', DIGEST)).to.deep.equal([]);
  });

  it('http: stops at the first 404', async () => {
    const base = await serve((path) => (path.endsWith('signature-1') ? { status: 200, body: Buffer.from('sig') } : { status: 404 }));
    const signatures = await reader.read(base, 'library/busybox', DIGEST);
    expect(signatures.map((s) => Buffer.from(s).toString())).to.deep.equal(['sig']);
    expect(requested).to.deep.equal([`/base/${DIR_NAME}/signature-1`, `/base/${DIR_NAME}/signature-2`]);
  });

  const failures: [string, (path: string) => { status: number; body?: Buffer }, string, RegExp][] = [
    ['a server error', () => ({ status: 500 }), 'registry-error', /HTTP status 500/],
    ['a signature over the size cap', () => ({ status: 200, body: Buffer.alloc(MAX_SIGNATURE_BYTES + 1) }), 'policy-rejected', /larger than/],
    ['more signatures than the cap', () => ({ status: 200, body: Buffer.from('s') }), 'policy-rejected', new RegExp(`more than ${MAX_LOOKASIDE_SIGNATURES}`)],
  ];
  for (const [why, answer, code, message] of failures) {
    it(`http: ${why} is an error`, async () => {
      const base = await serve(answer);
      const error = await reader.read(base, 'library/busybox', DIGEST).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isProxyError(error, code as never), String(error)).to.equal(true);
      expect((error as Error).message).to.match(message);
    });
  }

  it('refuses other URL schemes, and keeps user-info out of messages', async () => {
    const error = await reader.read('ftp://user:secret@example.com/x', 'a/b', DIGEST).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isProxyError(error, 'policy-invalid')).to.equal(true);
    expect((error as Error).message)
      .to.contain('ftp:')
      .and.not.contain('secret');
  });
});
