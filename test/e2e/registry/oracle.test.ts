import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../../src/domain/digest.js';
import { useRegistry } from '../../support/registry/fixture.js';
import { pullToLayout, type PullOptions } from '../../support/registry/push.js';
import { ociBlobPath, standardFixtures, type StandardFixtures } from '../../support/image-fixtures.js';
import { dockerReference, fetchVerifiedImage, isolatedEnv, jsonOf, ProxyPool, type OciManifest } from './proxy-session.js';

/**
 * The oracle: what `skopeo copy --format oci docker://… oci:DIR` writes is what containers/image
 * makes of an image, so the proxy's GET /manifest and GET /config must equal it byte for byte.
 */

interface PulledImage {
  readonly manifest: Buffer;
  readonly config: Buffer;
}

function readPulledLayout(layoutDir: string): PulledImage {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: Digest }[] };
  expect(index.manifests, 'skopeo wrote one image').to.have.length(1);
  const manifest = readFileSync(ociBlobPath(layoutDir, index.manifests[0]!.digest));
  const config = readFileSync(ociBlobPath(layoutDir, (JSON.parse(manifest.toString()) as OciManifest).config.digest));
  return { manifest, config };
}

const RC2_PLATFORM = /^(\{(?:"created":"[^"]*",)?"architecture":"[^"]*")(,"variant":"[^"]*")(,"os":"[^"]*")(?=,"config")/;

/**
 * Debian's skopeo 1.9.3 vendors image-spec 1.1.0-rc2, which writes `variant` right after
 * `architecture`; image-spec 1.1.1 (containers/image 5.37, which this project follows) writes it
 * after `os` (test/fixtures/conversion/README.md). This moves exactly that one field, for configs
 * without os.version/os.features, and fixes the config digest in the manifest to match; every
 * other byte stays skopeo's.
 */
function inImageSpec111Order(oracle: PulledImage): PulledImage {
  const text = oracle.config.toString('utf8');
  if (!text.includes('"variant":')) return oracle;
  const match = RC2_PLATFORM.exec(text);
  expect(match, `skopeo's config has the rc2 platform layout: ${text.slice(0, 120)}`).to.not.equal(null);
  const config = Buffer.from(text.replace(RC2_PLATFORM, (_all, head: string, variant: string, os: string) => `${head}${os}${variant}`));
  const manifest = Buffer.from(oracle.manifest.toString('utf8').replace(digestOf(oracle.config), digestOf(config)));
  return { manifest, config };
}

describe('docker:// end to end: skopeo as the oracle', function () {
  this.timeout(60_000);
  const registry = useRegistry(
    { kind: 'anonymous' },
    {
      tempDir: 'e2e-registry-oracle',
      images: () => ({
        'oracle/docker-single:v1': standardFixtures().dockerSingle,
        'oracle/docker-list:v1': standardFixtures().dockerList,
        'oracle/oci-index:v1': standardFixtures().ociIndex,
      }),
    },
  );
  let fixtures: StandardFixtures;
  const pool = new ProxyPool(() => isolatedEnv(registry.workDir));

  before(() => {
    fixtures = standardFixtures();
  });
  afterEach(() => pool.disposeAll());

  const cases: readonly { name: string; repository: string; pull?: PullOptions; expectedInstance: (f: StandardFixtures) => string }[] = [
    { name: 'schema2 image', repository: 'oracle/docker-single', expectedInstance: (f) => f.dockerSingle.manifest.digest },
    { name: 'schema2 list, amd64 instance', repository: 'oracle/docker-list', expectedInstance: (f) => f.dockerList.instances[0]!.manifest.digest },
    {
      name: 'schema2 list, arm64/v8 instance (variant moved to image-spec 1.1.1 order)',
      repository: 'oracle/docker-list',
      pull: { overrideArch: 'arm64', overrideVariant: 'v8' },
      expectedInstance: (f) => f.dockerList.instances[1]!.manifest.digest,
    },
    {
      name: 'schema2 list, arm/v7 instance (variant moved to image-spec 1.1.1 order)',
      repository: 'oracle/docker-list',
      pull: { overrideArch: 'arm', overrideVariant: 'v7' },
      expectedInstance: (f) => f.dockerList.instances[2]!.manifest.digest,
    },
  ];
  for (const { name, repository, pull, expectedInstance } of cases) {
    it(`${name}: GET /manifest and GET /config equal skopeo's conversion byte for byte`, async () => {
      const pulledDir = join(registry.workDir, `pulled-${repository.replace('/', '-')}-${pull?.overrideArch ?? 'default'}`);
      await pullToLayout(registry, `${repository}:v1`, pulledDir, 'pulled', { overrideArch: 'amd64', ...pull });
      const oracle = inImageSpec111Order(readPulledLayout(pulledDir));

      const overrides = [
        '--override-os',
        'linux',
        '--override-arch',
        pull?.overrideArch ?? 'amd64',
        ...(pull?.overrideVariant ? ['--override-variant', pull.overrideVariant] : []),
      ];
      const proxy = pool.start('--tls-verify=false', ...overrides, dockerReference(registry.host, repository, 'v1'));
      const image = await fetchVerifiedImage(proxy);
      expect(image.manifest.headers['instance-digest']).to.equal(expectedInstance(fixtures));
      expect(image.config.body.toString(), 'config').to.equal(oracle.config.toString());
      expect(image.manifest.body.toString(), 'manifest').to.equal(oracle.manifest.toString());
      expect(image.manifest.body.equals(oracle.manifest)).to.equal(true);
      expect(image.config.body.equals(oracle.config)).to.equal(true);
    });
  }

  it('OCI index instance: the body hashes to Instance-Digest, which is the digest skopeo pulls', async () => {
    const pulledDir = join(registry.workDir, 'pulled-oci-index');
    await pullToLayout(registry, 'oracle/oci-index:v1', pulledDir, 'pulled', { overrideArch: 'arm64', overrideVariant: 'v8' });
    const oracle = readPulledLayout(pulledDir);
    const proxy = pool.start(
      '--tls-verify=false',
      '--override-os',
      'linux',
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      dockerReference(registry.host, 'oracle/oci-index', 'v1'),
    );
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status).to.equal(200);
    expect(digestOf(manifest.body)).to.equal(manifest.headers['instance-digest']);
    expect(manifest.body.equals(oracle.manifest)).to.equal(true);
    expect(jsonOf<OciManifest>(manifest).config.digest).to.equal(digestOf(oracle.config));
  });
});
