import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ImageProxy, ImageProxyError } from '../../../src/client/index.js';
import { useRegistry } from '../../support/registry/fixture.js';
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
  const registry = useRegistry(
    { kind: 'htpasswd', users: [{ user: USER, pass: PASSWORD }] },
    { tempDir: 'e2e-embedding', images: () => ({ 'private/app:v1': standardFixtures().ociSingle }) },
  );
  const image = (): string => `docker://${registry.host}/private/app:v1`;

  function spawnExample(credentialsFile: string): Promise<ImageProxy> {
    return ImageProxy.spawn({
      command: [process.execPath, join(REPO_ROOT, 'dist/examples/custom-credentials.js')],
      args: ['--tls-verify=false', '--insecure-policy'],
      image: image(),
      env: { ...process.env, HOME: registry.workDir, EXAMPLE_CREDENTIALS_FILE: credentialsFile },
      stderr: 'pipe',
    });
  }

  it('serves a private image with the credentials its own store found', async () => {
    const file = join(registry.workDir, 'good.json');
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
    const file = join(registry.workDir, 'other.json');
    writeFileSync(file, JSON.stringify({ 'elsewhere.example': { username: USER, password: PASSWORD } }));
    const proxy = await spawnExample(file);
    try {
      const err = await proxy.manifest().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ImageProxyError);
      expect((err as ImageProxyError).code).to.equal('unauthorized');
    } finally {
      await proxy.quit();
    }
  });
});
