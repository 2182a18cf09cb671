import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { request } from 'undici';
import { useRegistry } from '../../support/registry/fixture.js';
import { basicAuthorization } from '../../support/registry/registry-client.js';
import { type TokenIssuer } from '../../support/registry/token-issuer.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { dockerReference, errorOf, fetchVerifiedImage, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * docker:// through the CLI against a real docker-registry with token auth, the JWTs issued by
 * the test's own realm: the real Bearer flow, and one token request per scope however many
 * blobs are fetched.
 */

const USER = { user: 'tester', pass: 'tester-T0ken-pw-e2e' };
const PUBLIC_SCOPE = 'repository:tok/public:pull';
const PRIVATE_SCOPE = 'repository:tok/private:pull';

describe('docker:// end to end: token auth against a real registry', function () {
  this.timeout(60_000);
  const registry = useRegistry(
    { kind: 'token', users: [USER], issuer: { anonymousPull: ['tok/public'] } },
    { tempDir: 'e2e-registry-token', images: () => ({ 'tok/public:v1': standardFixtures().ociIndex, 'tok/private:v1': standardFixtures().dockerSingle }) },
  );
  let issuer: TokenIssuer;
  const pool = new ProxyPool(() => isolatedEnv(registry.workDir));
  const proxyFor = (repository: string, ...options: string[]) => pool.start('--tls-verify=false', ...options, dockerReference(registry.host, repository, 'v1'));

  before(() => {
    issuer = registry.tokenIssuer!;
  });
  beforeEach(() => issuer.resetCounts());
  afterEach(() => pool.disposeAll());

  it('anonymous: an index, its instance and every blob twice, with exactly one token request for the scope', async () => {
    const proxy = proxyFor('tok/public', '--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8');
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(standardFixtures().ociIndex.instances[1]!.manifest.digest);
    for (const digest of image.blobs.keys()) expect((await proxy.request('GET', `/blobs/${digest}`)).status).to.equal(200);
    expect(issuer.countFor(PUBLIC_SCOPE)).to.equal(1);
    expect(issuer.requests.map((r) => [r.scope, r.grantType])).to.deep.equal([[PUBLIC_SCOPE, 'anonymous']]);
  });

  it('--creds: the token realm sees the user once, and the private image is served', async () => {
    const proxy = proxyFor('tok/private', '--creds', `${USER.user}:${USER.pass}`);
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(standardFixtures().dockerSingle.manifest.digest);
    expect(issuer.requests.map((r) => [r.scope, r.grantType, r.account])).to.deep.equal([[PRIVATE_SCOPE, 'basic', USER.user]]);
  });

  it('an identity token from auth.json: exchanged with an OAuth2 refresh-token POST, the image served, the token never on stderr', async () => {
    const refreshToken = issuer.issueRefreshToken(USER.user);
    const authFile = join(registry.workDir, 'identity-auth.json');
    // containers/image needs "user:" in `auth` for the entry to count; the identity token does the rest.
    writeFileSync(
      authFile,
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER.user}:`).toString('base64'), identitytoken: refreshToken } } }),
    );
    const proxy = proxyFor('tok/private', '--authfile', authFile, '--debug');
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(standardFixtures().dockerSingle.manifest.digest);
    expect(issuer.requests.map((r) => [r.scope, r.grantType])).to.deep.equal([[PRIVATE_SCOPE, 'refresh_token']]);
    expect(proxy.stderr()).to.contain('"path":"/manifest"');
    expect(proxy.stderr()).to.not.include(refreshToken);
  });

  it('anonymous on a private repository: error JSON "unauthorized" naming the repository, one anonymous token request', async () => {
    const proxy = proxyFor('tok/private');
    const answer = await proxy.request('GET', '/manifest');
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('unauthorized');
    expect(body.message).to.include(`${registry.host}/tok/private:v1`);
    expect(issuer.requests.map((r) => [r.scope, r.grantType])).to.deep.equal([[PRIVATE_SCOPE, 'anonymous']]);
  });

  it('--registry-token: the given token is sent as is, the realm is never asked', async () => {
    const realm = new URL(issuer.realm);
    realm.searchParams.set('service', issuer.service);
    realm.searchParams.set('scope', PRIVATE_SCOPE);
    const response = await request(realm, { headers: { authorization: basicAuthorization(USER.user, USER.pass) } });
    const { token } = (await response.body.json()) as { token: string };
    issuer.resetCounts();
    const proxy = proxyFor('tok/private', '--registry-token', token);
    const image = await fetchVerifiedImage(proxy);
    expect(image.manifest.headers['instance-digest']).to.equal(standardFixtures().dockerSingle.manifest.digest);
    expect(issuer.requests).to.deep.equal([]);
    expect(proxy.stderr()).to.not.include(token);
  });

  it('--creds with a wrong password: error JSON "unauthorized", the password absent from body and stderr', async () => {
    const wrong = 'wr0ng-T0ken-pw-e2e';
    const proxy = proxyFor('tok/private', '--creds', `${USER.user}:${wrong}`);
    const answer = await proxy.request('GET', '/manifest');
    expect(errorOf(answer).code).to.equal('unauthorized');
    expect(answer.body.toString()).to.not.include(wrong);
    expect(proxy.stderr()).to.not.include(wrong);
    expect(issuer.requests.map((r) => r.grantType)).to.include('rejected');
  });
});
