import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { requireRegistryTools } from '../support/registry/install.js';
import { makeTempDir, removeTempDir, run } from '../support/registry/processes.js';
import { pullToLayout, pushLayout, RawPusher } from '../support/registry/push.js';
import { basicAuthorization, challengeParams, fetchManifest, sha256 } from '../support/registry/registry-client.js';
import { startRegistry, type RunningRegistry } from '../support/registry/registry-server.js';
import { decodeJwtClaims } from '../support/registry/registry-jwt.js';
import { standardFixtures, writeOciLayout, type FixtureImage, type StandardFixtures } from '../support/image-fixtures.js';

/** Proves the harness itself: each registry variant starts, takes a push and serves it back. */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const basic = basicAuthorization;

describe('registry harness against real docker-registry', function () {
  this.timeout(120_000);
  let workDir: string;
  let fixtures: StandardFixtures;
  let single: FixtureImage;
  /** An OCI layout with the fixtures `single` (ociSingle) and `index` (ociIndex). */
  let layoutDir: string;
  const running: RunningRegistry[] = [];
  const start = async (...args: Parameters<typeof startRegistry>): Promise<RunningRegistry> => {
    const registry = await startRegistry(...args);
    running.push(registry);
    return registry;
  };

  before(async function () {
    requireRegistryTools(this);
    workDir = makeTempDir('harness-test');
    fixtures = standardFixtures();
    single = fixtures.ociSingle;
    layoutDir = join(workDir, 'layout');
    await writeOciLayout(layoutDir, [
      { artifact: single, name: 'single' },
      { artifact: fixtures.ociIndex, name: 'index' },
    ]);
  });

  after(async () => {
    for (const registry of running.splice(0)) await registry.stop();
    if (workDir) removeTempDir(workDir);
  });

  it('anonymous: push with skopeo, fetch the same manifest back, and skopeo pulls it as OCI', async () => {
    const registry = await start({ kind: 'anonymous' });
    expect(registry.host).to.match(/^127\.0\.0\.1:\d+$/);
    await pushLayout(registry, layoutDir, 'single', 'harness/tiny', 'single', { preserveDigests: true });
    const fetched = await fetchManifest(registry, 'harness/tiny', 'single');
    expect(fetched.status).to.equal(200);
    expect(fetched.headers['content-type']).to.equal(OCI_MANIFEST);
    expect(sha256(fetched.body)).to.equal(single.manifest.digest);
    expect(fetched.headers['docker-content-digest']).to.equal(single.manifest.digest);

    const pulled = join(workDir, 'pulled-anonymous');
    await pullToLayout(registry, `harness/tiny:single`, pulled);
    const index = JSON.parse(readFileSync(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).to.deep.equal([single.manifest.digest]);
  });

  it('anonymous, pushed as docker schema2: skopeo --format oci converts it back (the oracle)', async () => {
    const registry = await start({ kind: 'anonymous' });
    await pushLayout(registry, layoutDir, 'single', 'harness/schema2', 'v1', { format: 'v2s2' });
    const fetched = await fetchManifest(registry, 'harness/schema2', 'v1');
    expect(fetched.headers['content-type']).to.equal('application/vnd.docker.distribution.manifest.v2+json');
    const pulled = join(workDir, 'pulled-schema2');
    await pullToLayout(registry, 'harness/schema2:v1', pulled);
    const index = JSON.parse(readFileSync(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
    expect(index.manifests).to.have.length(1);
    expect(index.manifests[0]!.mediaType).to.equal(OCI_MANIFEST);
    const manifest = JSON.parse(readFileSync(join(pulled, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    expect(manifest.layers[0]!.digest).to.equal(single.layers[0]!.digest);
  });

  it('a zstd push after a gzip push of the same layer to another repository really is zstd (no blob-info-cache reuse)', async () => {
    const registry = await start({ kind: 'anonymous' });
    await pushLayout(registry, layoutDir, 'single', 'harness/gzip', 'v1', { preserveDigests: true });
    await pushLayout(registry, layoutDir, 'single', 'harness/zstd', 'v1', { compressFormat: 'zstd' });
    const manifest = JSON.parse((await fetchManifest(registry, 'harness/zstd', 'v1')).body.toString()) as { layers: { mediaType: string; digest: string }[] };
    expect(manifest.layers[0]!.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(manifest.layers[0]!.digest).to.not.equal(single.layers[0]!.digest);
  });

  it('raw push of every standard fixture: served byte for byte, and skopeo picks the arm/v7 instance of the index when told to', async () => {
    const registry = await start({ kind: 'anonymous' });
    const pusher = new RawPusher(registry);
    try {
      for (const [name, artifact] of Object.entries(fixtures)) await pusher.pushArtifact(`fixtures/${name.toLowerCase()}`, 'v1', artifact);
    } finally {
      await pusher.close();
    }
    for (const [name, artifact] of Object.entries(fixtures)) {
      const fetched = await fetchManifest(registry, `fixtures/${name.toLowerCase()}`, 'v1');
      expect(fetched.status, name).to.equal(200);
      expect(fetched.headers['content-type'], name).to.equal(artifact.manifest.mediaType);
      expect(sha256(fetched.body), name).to.equal(artifact.manifest.digest);
    }
    const pulled = join(workDir, 'pulled-index');
    await pullToLayout(registry, 'fixtures/ociindex:v1', pulled, 'arm', { overrideArch: 'arm', overrideVariant: 'v7' });
    const index = JSON.parse(readFileSync(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const armV7 = fixtures.ociIndex.instances.find((instance) => instance.platform.architecture === 'arm')!;
    expect(index.manifests.map((m) => m.digest)).to.deep.equal([armV7.manifest.digest]);
  });

  it('an OCI index pushed with --all --format v2s2 becomes a docker manifest list', async () => {
    const registry = await start({ kind: 'anonymous' });
    await pushLayout(registry, layoutDir, 'index', 'harness/list', 'v1', { all: true, format: 'v2s2' });
    const fetched = await fetchManifest(registry, 'harness/list', 'v1');
    expect(fetched.headers['content-type']).to.equal('application/vnd.docker.distribution.manifest.list.v2+json');
    const list = JSON.parse(fetched.body.toString()) as { manifests: { platform: { architecture: string } }[] };
    expect(list.manifests.map((m) => m.platform.architecture)).to.deep.equal(fixtures.ociIndex.instances.map((i) => i.platform.architecture));
  });

  it('htpasswd: 401 with a Basic challenge without credentials, 200 with them', async () => {
    const registry = await start({ kind: 'htpasswd', users: [{ user: 'alice', pass: 'alice-secret' }] });
    await pushLayout(registry, layoutDir, 'single', 'private/tiny', 'single', { preserveDigests: true });
    const anonymous = await fetchManifest(registry, 'private/tiny', 'single');
    expect(anonymous.status).to.equal(401);
    expect(String(anonymous.headers['www-authenticate'])).to.match(/^Basic realm="test-registry"/);
    const wrong = await fetchManifest(registry, 'private/tiny', 'single', { authorization: basic('alice', 'nope') });
    expect(wrong.status).to.equal(401);
    const authorized = await fetchManifest(registry, 'private/tiny', 'single', { authorization: basic('alice', 'alice-secret') });
    expect(authorized.status).to.equal(200);
    expect(sha256(authorized.body)).to.equal(single.manifest.digest);
  });

  it('TLS: refused without the test CA, served with it (by IP and by localhost), and the cert dirs hold the CA', async () => {
    const registry = await start({ kind: 'tls' });
    expect(registry.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    await pushLayout(registry, layoutDir, 'single', 'secure/tiny', 'single', { preserveDigests: true });
    const untrusting = new Agent();
    try {
      await fetchManifest(registry, 'secure/tiny', 'single', { dispatcher: untrusting }).then(
        () => expect.fail('a TLS connection without the test CA must fail'),
        (error: unknown) => expect(String((error as { code?: string }).code)).to.match(/CERT|SIGNATURE|ISSUER/),
      );
    } finally {
      await untrusting.close();
    }
    expect((await fetchManifest(registry, 'secure/tiny', 'single')).status).to.equal(200);
    const byName = new Agent({ connect: { ca: registry.caPem } });
    try {
      const response = await request(`https://localhost:${registry.host.split(':')[1]}/v2/`, { dispatcher: byName });
      await response.body.dump();
      expect(response.statusCode).to.equal(200);
    } finally {
      await byName.close();
    }
    expect(readFileSync(join(registry.certDir!, 'ca.crt'), 'utf8')).to.equal(registry.caPem);
    expect(readFileSync(join(registry.certsD!, registry.host, 'ca.crt'), 'utf8')).to.equal(registry.caPem);
  });

  it('token: the Bearer flow by hand (challenge → anonymous token → 200), one token request per scope', async () => {
    const registry = await start({ kind: 'token' });
    const issuer = registry.tokenIssuer!;
    await pushLayout(registry, layoutDir, 'single', 'team/tiny', 'single', { preserveDigests: true });
    issuer.resetCounts();

    const challenged = await fetchManifest(registry, 'team/tiny', 'single');
    expect(challenged.status).to.equal(401);
    const params = challengeParams(challenged.headers['www-authenticate']);
    expect(params).to.deep.equal({ realm: issuer.realm, service: issuer.service, scope: 'repository:team/tiny:pull' });

    const tokenUrl = new URL(params.realm!);
    tokenUrl.searchParams.set('service', params.service!);
    tokenUrl.searchParams.set('scope', params.scope!);
    const tokenResponse = await request(tokenUrl);
    const { token } = (await tokenResponse.body.json()) as { token: string };
    expect(decodeJwtClaims(token).access).to.deep.equal([{ type: 'repository', name: 'team/tiny', actions: ['pull'] }]);

    const authorized = await fetchManifest(registry, 'team/tiny', 'single', { authorization: `Bearer ${token}` });
    expect(authorized.status).to.equal(200);
    expect(sha256(authorized.body)).to.equal(single.manifest.digest);
    expect(issuer.countFor('repository:team/tiny:pull')).to.equal(1);
    expect(issuer.requests).to.have.length(1);
  });

  it('token: basic-auth users, refresh tokens, access_token field, and tokens without access are refused', async () => {
    const registry = await start({
      kind: 'token',
      users: [{ user: 'bob', pass: 'bob-secret' }],
      issuer: { anonymousPull: 'none', tokenField: 'access_token' },
    });
    const issuer = registry.tokenIssuer!;
    await pushLayout(registry, layoutDir, 'single', 'closed/tiny', 'single', { preserveDigests: true });
    const scope = 'repository:closed/tiny:pull';
    const realm = (query: Record<string, string>): URL => {
      const url = new URL(issuer.realm);
      for (const [key, value] of Object.entries({ service: issuer.service, scope, ...query })) url.searchParams.set(key, value);
      return url;
    };

    const anonymous = (await (await request(realm({}))).body.json()) as { access_token: string; token?: string };
    expect(anonymous.token).to.equal(undefined);
    expect((await fetchManifest(registry, 'closed/tiny', 'single', { authorization: `Bearer ${anonymous.access_token}` })).status).to.equal(401);

    const refused = await request(realm({}), { headers: { authorization: basic('bob', 'wrong') } });
    await refused.body.dump();
    expect(refused.statusCode).to.equal(401);

    const withPassword = (await (await request(realm({ offline_token: 'true' }), { headers: { authorization: basic('bob', 'bob-secret') } })).body.json()) as {
      access_token: string;
      refresh_token: string;
    };
    expect((await fetchManifest(registry, 'closed/tiny', 'single', { authorization: `Bearer ${withPassword.access_token}` })).status).to.equal(200);

    const refreshed = await request(issuer.realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: issuer.issueRefreshToken('bob'),
        service: issuer.service,
        scope,
        client_id: 'harness',
      }).toString(),
    });
    const refreshedBody = (await refreshed.body.json()) as { access_token: string; refresh_token: string };
    expect(refreshedBody.refresh_token).to.be.a('string');
    expect((await fetchManifest(registry, 'closed/tiny', 'single', { authorization: `Bearer ${refreshedBody.access_token}` })).status).to.equal(200);
    expect(issuer.requests.filter((r) => r.scope === scope).map((r) => r.grantType)).to.include.members(['anonymous', 'rejected', 'basic', 'refresh_token']);
  });

  it('token over TLS: skopeo pulls with credentials through the real Bearer flow', async () => {
    const registry = await start({ kind: 'token', tls: true });
    expect(registry.tokenIssuer!.realm).to.match(/^https:/);
    await pushLayout(registry, layoutDir, 'single', 'tls-token/tiny', 'single', { preserveDigests: true });
    const pulled = join(workDir, 'pulled-token');
    await pullToLayout(registry, `tls-token/tiny:single`, pulled);
    const index = JSON.parse(readFileSync(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).to.equal(single.manifest.digest);
    expect(registry.tokenIssuer!.countFor('repository:tls-token/tiny:pull')).to.be.greaterThan(0);
  });

  it('proxy: a pull-through mirror serves what the upstream registry holds', async () => {
    const upstream = await start({ kind: 'anonymous' });
    await pushLayout(upstream, layoutDir, 'single', 'mirrored/tiny', 'single', { preserveDigests: true });
    const mirror = await start({ kind: 'proxy', remoteurl: upstream.url });
    const fetched = await fetchManifest(mirror, 'mirrored/tiny', 'single');
    expect(fetched.status).to.equal(200);
    expect(sha256(fetched.body)).to.equal(single.manifest.digest);
    expect(upstream.log()).to.include('/v2/mirrored/tiny/manifests/');
  });

  it('raw push: a hand-made manifest with its own media type comes back as pushed', async () => {
    const registry = await start({ kind: 'htpasswd', users: [{ user: 'carol', pass: 'carol-secret' }] });
    const pusher = new RawPusher(registry);
    try {
      const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const configDigest = await pusher.pushBlob('raw/odd', config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [],
          annotations: { odd: 'yes' },
        }),
      );
      const digest = await pusher.pushManifest('raw/odd', 'odd', manifest, OCI_MANIFEST);
      const fetched = await fetchManifest(registry, 'raw/odd', digest, { authorization: basic('carol', 'carol-secret') });
      expect(fetched.status).to.equal(200);
      expect(fetched.body.equals(manifest)).to.equal(true);
    } finally {
      await pusher.close();
    }
  });

  it('bench/skopeo-proxy.py drives skopeo experimental-image-proxy against it (manifest, then a verified blob)', async function () {
    if (spawnSync('python3', ['--version']).status !== 0) {
      console.warn('\n  !!! SKIPPING the skopeo-proxy.py check: python3 is not installed\n');
      this.skip();
    }
    const registry = await start({ kind: 'anonymous' });
    await pushLayout(registry, layoutDir, 'single', 'bench/tiny', 'single', { preserveDigests: true });
    const script = fileURLToPath(new URL('../../../bench/skopeo-proxy.py', import.meta.url));
    const reference = `docker://${registry.host}/bench/tiny:single`;
    const manifest = JSON.parse((await run('python3', [script, '--tls-verify=false', 'manifest', reference])).stdout) as Record<string, unknown>;
    expect(manifest.protocol).to.match(/^0\.2\./);
    expect(manifest.manifest_digest).to.equal(single.manifest.digest);
    expect(manifest.spawn_to_manifest_ms).to.be.a('number').greaterThan(0);
    const blob = JSON.parse((await run('python3', [script, '--tls-verify=false', 'blob', reference, single.layers[0]!.digest])).stdout) as Record<
      string,
      unknown
    >;
    expect(blob).to.include({ digest: single.layers[0]!.digest, bytes: single.layers[0]!.bytes.length, reported_size: single.layers[0]!.bytes.length });
    // A wrong size makes skopeo's FinishPipe fail, and the client must report it.
    await run('python3', [script, '--tls-verify=false', 'blob', reference, single.layers[0]!.digest, '--size', '1']).then(
      () => expect.fail('a blob of the wrong size must fail'),
      (error: unknown) => expect(String(error)).to.include('FinishPipe'),
    );
  });

  it('raw push: a docker schema2 manifest with a foreign layer (not uploaded, only urls) is accepted', async () => {
    const registry = await start({ kind: 'anonymous' });
    const pusher = new RawPusher(registry);
    try {
      const config = Buffer.from('{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":["sha256:' + '1'.repeat(64) + '"]}}');
      const configDigest = await pusher.pushBlob('raw/foreign', config);
      const foreign = {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        digest: `sha256:${'2'.repeat(64)}`,
        size: 1234,
        urls: ['http://127.0.0.1:9/foreign-layer'],
      };
      const schema2 = 'application/vnd.docker.distribution.manifest.v2+json';
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: schema2,
          config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length },
          layers: [foreign],
        }),
      );
      const digest = await pusher.pushManifest('raw/foreign', 'v1', manifest, schema2);
      const fetched = await fetchManifest(registry, 'raw/foreign', 'v1');
      expect(fetched.headers['content-type']).to.equal(schema2);
      expect(sha256(fetched.body)).to.equal(digest);
    } finally {
      await pusher.close();
    }
  });

  it('stop() ends the registry: its port no longer answers', async () => {
    const registry = await start({ kind: 'anonymous' });
    await registry.stop();
    await request(`${registry.url}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
      () => expect.fail('a stopped registry must not answer'),
      (error: unknown) => expect(String((error as { code?: string }).code)).to.equal('ECONNREFUSED'),
    );
  });
});
