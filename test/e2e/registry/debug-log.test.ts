import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type FakeAuth, FakeRegistry, faults, type RecordedRequest } from '../../support/fake-registry.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { standardFixtures, type FixtureImage } from '../../support/image-fixtures.js';
import { jsonLines, type LogLine, quitAndReadStderr, theLine } from './log-lines.js';
import { dockerReference, isolatedEnv, ProxyPool } from './proxy-session.js';

/**
 * `--debug` and `--log-level` through the real CLI against in-process registries: each upstream
 * request tied to the client request it serves, the pull sources tried, where credentials came
 * from, each retry; the four levels say different things; no secret is ever written.
 */

const USER = 'log-user';
const PASSWORD = 'L0g-Pa55-never-logged';
const REPOSITORY = 'logs/app';

describe('logging end to end: what the proxy did upstream', function () {
  this.timeout(30_000);
  let workDir: string;
  let image: FixtureImage;
  const registries: FakeRegistry[] = [];
  const pool = new ProxyPool(() => isolatedEnv(workDir));
  let testNumber = 0;

  const started = async (auth: FakeAuth = { kind: 'none' }): Promise<FakeRegistry> => {
    const registry = await FakeRegistry.start(auth);
    registries.push(registry);
    return registry;
  };
  const withImage = (registry: FakeRegistry): FakeRegistry => {
    registry.putManifest(REPOSITORY, image.manifest.bytes, image.manifest.mediaType, 'v1');
    for (const blob of [image.config, ...image.layers]) registry.putBlob(REPOSITORY, blob.bytes);
    return registry;
  };
  const file = (name: string, content: string): string => {
    const dir = join(workDir, `t${testNumber}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const layer = () => image.layers[0]!;

  before(() => {
    workDir = makeTempDir('e2e-debug-log');
    image = standardFixtures().ociSingle;
  });
  beforeEach(() => testNumber++);
  afterEach(async () => {
    await pool.disposeAll();
    await Promise.all(registries.splice(0).map((registry) => registry.close()));
  });
  after(() => {
    if (workDir) removeTempDir(workDir);
  });

  it('--debug: each upstream request as a JSON line naming the client request it serves; auth, token, source and policy; no secret', async () => {
    const registry = withImage(await started({ kind: 'bearer', service: 'fake-service', users: { [USER]: PASSWORD } }));
    const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const authFile = file('auth.json', JSON.stringify({ auths: { [registry.host]: { auth: basic } } }));
    const proxy = pool.start('--tls-verify=false', '--debug', '--authfile', authFile, dockerReference(registry.host, REPOSITORY, 'v1'));
    expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
    expect((await proxy.request('GET', `/blobs/${layer().digest}`)).status).to.equal(200);
    const stderr = await quitAndReadStderr(proxy);
    const lines = jsonLines(stderr);

    const manifestRequest = theLine(lines, { method: 'GET', path: '/manifest' });
    const blobRequest = theLine(lines, { method: 'GET', path: `/blobs/${layer().digest}` });
    expect(manifestRequest.request).to.be.a('number');
    expect(blobRequest.request).to.not.equal(manifestRequest.request);

    const upstream = (path: string): LogLine => theLine(lines, { event: 'upstream', url: `http://${registry.host}${path}` });
    const manifestGet = upstream(`/v2/${REPOSITORY}/manifests/v1`);
    expect(manifestGet).to.deep.include({
      level: 'debug',
      method: 'GET',
      status: 200,
      attempt: 1,
      bytes: image.manifest.bytes.length,
      request: manifestRequest.request,
    });
    expect(manifestGet.ms).to.be.a('number');
    expect(upstream(`/v2/${REPOSITORY}/blobs/${layer().digest}`)).to.deep.include({ status: 200, request: blobRequest.request, bytes: layer().bytes.length });
    // The config is read while the manifest request resolves the image: it serves that request.
    expect(upstream(`/v2/${REPOSITORY}/blobs/${image.config.digest}`).request).to.equal(manifestRequest.request);

    const tokenUrl = lines.find((line) => line.event === 'upstream' && String(line.url).startsWith(`http://${registry.host}/token?`))?.url;
    expect(tokenUrl, 'the token request, its account hidden').to.equal(
      `http://${registry.host}/token?account=redacted&scope=${encodeURIComponent(`repository:${REPOSITORY}:pull`)}&service=fake-service`,
    );
    const source = `auth file ${authFile}, key "${registry.host}"`;
    expect(theLine(lines, { event: 'auth' })).to.deep.include({
      level: 'info',
      registry: registry.host,
      scheme: 'bearer',
      credentials: source,
      realm: `http://${registry.host}/token`,
    });
    expect(theLine(lines, { event: 'token' })).to.deep.include({
      grant: 'basic auth',
      credentials: source,
      service: 'fake-service',
      request: manifestRequest.request,
    });
    const name = `docker://${registry.host}/${REPOSITORY}:v1`;
    expect(theLine(lines, { event: 'pull-source', outcome: 'trying' })).to.deep.include({ role: 'primary', source: name, request: manifestRequest.request });
    expect(theLine(lines, { event: 'pull-source', outcome: 'served' })).to.deep.include({ level: 'info', role: 'primary', source: name });
    expect(theLine(lines, { event: 'policy' })).to.deep.include({ allowed: true, policy: '--insecure-policy' });

    expect(registry.issuedTokens.size).to.be.at.least(1);
    for (const secret of [PASSWORD, basic, ...registry.issuedTokens.keys()]) expect(stderr).not.to.include(secret);
  });

  it('--debug with --creds on a basic-auth registry: the source is --creds, and neither the password nor the header appears', async () => {
    const registry = withImage(await started({ kind: 'basic', username: USER, password: PASSWORD }));
    const proxy = pool.start('--tls-verify=false', '--debug', '--creds', `${USER}:${PASSWORD}`, dockerReference(registry.host, REPOSITORY, 'v1'));
    expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
    const stderr = await quitAndReadStderr(proxy);
    expect(theLine(jsonLines(stderr), { event: 'auth' })).to.deep.include({ scheme: 'basic', credentials: '--creds' });
    for (const secret of [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(stderr).not.to.include(secret);
  });

  /** A mirror without the image, then the primary, whose first manifest answer is a 503. */
  async function mirrorAndFlakyPrimary(): Promise<{ args: string[]; primary: FakeRegistry; mirror: FakeRegistry }> {
    const primary = withImage(await started());
    const mirror = await started();
    primary.inject((req: RecordedRequest) => req.url === `/v2/${REPOSITORY}/manifests/v1`, faults.status(503));
    const conf = file(
      'registries.conf',
      `[[registry]]\nlocation = "${primary.host}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n`,
    );
    return { args: ['--registries-conf', conf, '--retry-delay', '50ms', dockerReference(primary.host, REPOSITORY, 'v1')], primary, mirror };
  }

  it('--debug: the mirror tried and why it failed, the retry of the primary with its reason and backoff, both attempts', async () => {
    const { args, primary, mirror } = await mirrorAndFlakyPrimary();
    const proxy = pool.start('--debug', ...args);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status, manifest.body.toString()).to.equal(200);
    const lines = jsonLines(await quitAndReadStderr(proxy));
    const client = theLine(lines, { path: '/manifest' }).request;

    const mirrorName = `docker://${mirror.host}/${REPOSITORY}:v1`;
    expect(theLine(lines, { event: 'pull-source', source: mirrorName, outcome: 'trying' })).to.deep.include({ role: 'mirror', request: client });
    const failed = theLine(lines, { event: 'pull-source', source: mirrorName, outcome: 'failed' });
    expect(failed).to.deep.include({ level: 'warn', code: 'image-not-found' });
    expect(String(failed.error)).to.include('MANIFEST_UNKNOWN');
    expect(theLine(lines, { event: 'pull-source', outcome: 'served' })).to.deep.include({
      role: 'primary',
      source: `docker://${primary.host}/${REPOSITORY}:v1`,
    });

    const manifestUrl = `http://${primary.host}/v2/${REPOSITORY}/manifests/v1`;
    expect(theLine(lines, { event: 'upstream', url: manifestUrl, attempt: 1 })).to.deep.include({ status: 503, request: client });
    expect(theLine(lines, { event: 'upstream', url: manifestUrl, attempt: 2 })).to.deep.include({ status: 200, request: client });
    expect(theLine(lines, { event: 'retry' })).to.deep.include({
      level: 'warn',
      url: manifestUrl,
      attempt: 1,
      reason: 'HTTP 503',
      delayMs: 50,
      request: client,
    });
  });

  it('--log-level error, warn, info and debug each say more than the one before', async () => {
    const said = new Map<string, string>();
    for (const level of ['error', 'warn', 'info', 'debug']) {
      const { args } = await mirrorAndFlakyPrimary();
      const proxy = pool.start('--log-level', level, ...args);
      expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
      said.set(level, await quitAndReadStderr(proxy));
    }
    expect(said.get('error')).to.equal('');
    const warn = said.get('warn')!;
    expect(warn).to.match(/^container-image-proxy: .*: HTTP 503; retry 1 of 3 in 50 ms$/m);
    expect(warn).to.match(/^container-image-proxy: .*: mirror .* failed: .*MANIFEST_UNKNOWN/m);
    expect(warn).not.to.include('served by');
    const info = said.get('info')!;
    expect(info.startsWith(warn) || info.includes('HTTP 503; retry 1 of 3'), 'info keeps the warnings').to.equal(true);
    expect(info).to.match(/^container-image-proxy: .*: served by primary /m);
    expect(info).to.match(/^container-image-proxy: registry .*: no authentication asked for$/m);
    expect(info).to.match(/^container-image-proxy: .*: allowed by --insecure-policy/m);
    expect(info).not.to.include('"event"');
    const debug = jsonLines(said.get('debug')!);
    expect(debug.filter((line) => line.event === 'upstream').length).to.be.at.least(4);
  });
});
