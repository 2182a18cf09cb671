import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Agent } from 'undici';
import { LookasideReader } from '../../../src/adapters/lookaside/lookaside-reader.js';
import { SignatureFinder } from '../../../src/adapters/policy-json/signature-finder.js';
import { RegistriesDirectory } from '../../../src/adapters/registries-d/registries-d.js';
import { FakeRegistry, faults } from '../../support/fake-registry.js';
import { dockerRef, makeTransport, REPO, storeImage } from '../distribution/helpers.js';

/** Where signatures come from: the extension API when the ping advertises it, else lookaside. */
describe('finding signatures: registry extension API versus lookaside', () => {
  let registry: FakeRegistry;
  let dir: string;
  let agent: Agent;
  let finder: SignatureFinder;
  let cleanupTransport: () => Promise<void>;
  let transport: ReturnType<typeof makeTransport>['transport'];
  const lookasideSignature = Buffer.from([0xa3, 0x01, 0x02]);
  const apiSignature = Buffer.from([0x89, 0x07, 0x08]);

  beforeEach(async () => {
    registry = await FakeRegistry.start();
    dir = mkdtempSync(join(tmpdir(), 'finder-'));
    agent = new Agent();
    ({ transport, cleanup: cleanupTransport } = makeTransport());
  });
  afterEach(async () => {
    await cleanupTransport();
    await agent.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setUp = async (digest: string): Promise<void> => {
    const sigDir = join(dir, 'sigs', `${REPO}@${digest.replace(':', '=')}`);
    mkdirSync(sigDir, { recursive: true });
    writeFileSync(join(sigDir, 'signature-1'), lookasideSignature);
    mkdirSync(join(dir, 'registries.d'));
    writeFileSync(join(dir, 'registries.d', 'r.yaml'), `default-docker:\n  lookaside: file://${join(dir, 'sigs')}\n`);
    const registriesD = await RegistriesDirectory.load({ explicitDir: join(dir, 'registries.d'), homeDir: dir, isRoot: false });
    finder = new SignatureFinder({ registriesD, lookaside: new LookasideReader({ dispatcher: agent, idleMs: 2000 }) });
  };

  it('without X-Registry-Supports-Signatures: lookaside', async () => {
    const { manifest } = storeImage(registry);
    await setUp(manifest);
    const source = await transport.open(dockerRef(registry), {});
    const signatures = await finder.find(source, manifest);
    expect(signatures).to.deep.equal([{ format: 'simple-signing', blob: lookasideSignature }]);
    expect(registry.requestsTo(/^\/extensions\//)).to.have.length(0);
  });

  it('with X-Registry-Supports-Signatures: 1, the extension API only (atomic, schemaVersion 2 entries)', async () => {
    const { manifest } = storeImage(registry);
    await setUp(manifest);
    registry.inject(
      (req) => req.url === '/v2/',
      faults.bytes(Buffer.from('{}'), { 'x-registry-supports-signatures': '1', 'content-type': 'application/json' }),
      10,
    );
    const list = {
      signatures: [
        { schemaVersion: 2, type: 'atomic', name: `${manifest}@one`, content: apiSignature.toString('base64') },
        { schemaVersion: 1, type: 'atomic', name: `${manifest}@old`, content: lookasideSignature.toString('base64') },
        { schemaVersion: 2, type: 'other', name: `${manifest}@other`, content: lookasideSignature.toString('base64') },
      ],
    };
    registry.inject(
      (req) => req.url === `/extensions/v2/${REPO}/signatures/${manifest}`,
      faults.bytes(Buffer.from(JSON.stringify(list)), { 'content-type': 'application/json' }),
    );
    const source = await transport.open(dockerRef(registry), {});
    const signatures = await finder.find(source, manifest);
    expect(signatures).to.deep.equal([{ format: 'simple-signing', blob: apiSignature }]);
  });
});
