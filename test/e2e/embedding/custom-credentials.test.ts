import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ImageProxy, ImageProxyError } from '../../../src/client/index.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { RawPusher } from '../../support/registry/push.js';
import { startRegistry, type RunningRegistry } from '../../support/registry/registry-server.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { REPO_ROOT } from '../../support/spawn-proxy.js';

/**
 * examples/custom-credentials.ts: a proxy entry point with its own CredentialStore, bound through
 * the composition root (runProxy + PortOverrides), pulling a private image from a real registry.
 */
describe('embedding: a custom credential store plugged into the composition root', function () {
  this.timeout(60_000);
  const USER = 'carol';
  const PASSWORD = 'carol-Emb3dd3d-pw';
  let registry: RunningRegistry;
  let workDir: string;
  let image: string;

  before(async function () {
    requireRegistryTools(this);
    workDir = makeTempDir('e2e-embedding');
    registry = await startRegistry({ kind: 'htpasswd', users: [{ user: USER, pass: PASSWORD }] });
    const pusher = new RawPusher(registry);
    try {
      await pusher.pushArtifact('private/app', 'v1', standardFixtures().ociSingle);
    } finally {
      await pusher.close();
    }
    image = `docker://${registry.host}/private/app:v1`;
  });
  after(async () => {
    await registry?.stop();
    if (workDir) removeTempDir(workDir);
  });

  function spawnExample(credentialsFile: string): Promise<ImageProxy> {
    return ImageProxy.spawn({
      command: [process.execPath, join(REPO_ROOT, 'dist/examples/custom-credentials.js')],
      args: ['--tls-verify=false', '--insecure-policy'],
      image,
      env: { ...process.env, HOME: workDir, EXAMPLE_CREDENTIALS_FILE: credentialsFile },
      stderr: 'pipe',
    });
  }

  it('serves a private image with the credentials its own store found', async () => {
    const file = join(workDir, 'good.json');
    writeFileSync(file, JSON.stringify({ [registry.host]: { username: USER, password: PASSWORD } }));
    const proxy = await spawnExample(file);
    try {
      const answer = await proxy.manifest();
      expect(answer.instanceDigest).to.equal(standardFixtures().ociSingle.manifest.digest);
      expect((await proxy.layers()).length).to.equal(standardFixtures().ociSingle.layers.length);
    } finally {
      await proxy.quit();
    }
  });

  it('goes out anonymously when its store has nothing for the registry, and the registry refuses', async () => {
    const file = join(workDir, 'other.json');
    writeFileSync(file, JSON.stringify({ 'elsewhere.example': { username: USER, password: PASSWORD } }));
    const proxy = await spawnExample(file);
    try {
      const err = await proxy.manifest().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(ImageProxyError);
      expect((err as ImageProxyError).code).to.equal('unauthorized');
    } finally {
      await proxy.quit();
    }
  });
});
