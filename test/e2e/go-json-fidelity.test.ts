/**
 * Where Go's encoding/json draws its lines, through the real CLI with skopeo as the oracle on the
 * same oci: layouts: documents nested 10000 levels deep are read, one level more is refused; a
 * config time written with escapes is refused (Go parses times from the literal's raw bytes).
 * Every refusal is a JSON error on a session that goes on serving.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { blobOf, makeImage, makeLayer, PLATFORMS, writeOciLayout, type FixtureImage, type ImageFormat } from '../support/image-fixtures.js';
import { skopeoOnce } from '../support/registry/skopeo.js';
import { requireSkopeo } from '../support/skopeo-cli.js';
import { spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A value `levels` containers deep, alternating arrays and objects. */
function deepValue(levels: number): string {
  let value = '1';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? `[${value}]` : `{"k":${value}}`;
  return value;
}

/** `image` with its config text and manifest text passed through `edit`s; digests follow. */
function edited(image: FixtureImage, editConfig: (text: string) => string, editManifest: (text: string) => string = (text) => text): FixtureImage {
  const config = blobOf(image.config.mediaType, encode(editConfig(decode(image.config.bytes))));
  const manifestJson = JSON.parse(decode(image.manifest.bytes)) as { config: { digest: string; size: number } };
  manifestJson.config.digest = config.digest;
  manifestJson.config.size = config.bytes.length;
  const manifest = blobOf(image.manifest.mediaType, encode(editManifest(JSON.stringify(manifestJson))));
  return { ...image, config, manifest };
}

/** Adds `"x": value` as the last member of a JSON object's text. */
const withField =
  (value: string) =>
  (text: string): string =>
    `${text.slice(0, -1)},"x":${value}}`;

describe('end to end: Go encoding/json limits, skopeo as the oracle', function () {
  this.timeout(120_000);
  let work: string;
  let proxy: ProxyProcess;
  const layouts = new Map<string, string>();

  const image = (format: ImageFormat): FixtureImage =>
    makeImage({ format, platform: PLATFORMS.amd64, layers: [makeLayer([{ path: 'hello.txt', content: encode('hello\n') }], { format, compression: 'gzip' })] });

  const cases: Record<string, FixtureImage> = {
    plain: image('docker'),
    // The top-level object is one level: a field 9999 deep makes the document 10000 deep.
    deepManifest: edited(image('oci'), (text) => text, withField(deepValue(9999))),
    tooDeepManifest: edited(image('oci'), (text) => text, withField(deepValue(10000))),
    deepConfig: edited(image('docker'), withField(deepValue(9999))),
    tooDeepConfig: edited(image('docker'), withField(deepValue(10000))),
    escapedCreated: edited(image('docker'), (text) => text.replace('"created":"1970-01-01T00:00:00Z"', '"created":"1970-01-01\\u005400:00:00Z"')),
    escapedHistory: edited(image('docker'), (text) => text.replace(/("history":\[\{"created":)"1970-01-01T00:00:00Z"/, '$1"1970-01-01T00:00:00\\u005a"')),
  };

  before(async function () {
    requireSkopeo(this);
    work = await mkdtemp(join(tmpdir(), 'go-json-e2e-'));
    for (const [name, artifact] of Object.entries(cases)) {
      const dir = join(work, name);
      await writeOciLayout(dir, [{ artifact }]);
      layouts.set(name, dir);
    }
    expect(decode(cases.escapedCreated!.config.bytes)).to.include('\\u0054');
    expect(decode(cases.escapedHistory!.config.bytes)).to.include('\\u005a');
    proxy = spawnProxy(['--insecure-policy', `oci:${layouts.get('plain')}`]);
  });
  after(async function () {
    await proxy?.dispose();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** skopeo inspect (and --config, which converts docker configs to OCI) on the layout. */
  async function skopeoVerdict(name: string): Promise<'accepted' | string> {
    try {
      await skopeoOnce(['inspect', `oci:${layouts.get(name)}`]);
      await skopeoOnce(['inspect', '--config', `oci:${layouts.get(name)}`]);
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  }

  async function proxyGet(path: string, name: string): Promise<{ status: number; body: string }> {
    const answer = await proxy.request('GET', `${path}?image=${encodeURIComponent(`oci:${layouts.get(name)}`)}`);
    return { status: answer.status, body: answer.body.toString('utf8') };
  }

  async function expectServed(name: string): Promise<void> {
    expect(await skopeoVerdict(name)).to.equal('accepted');
    const manifest = await proxyGet('/manifest', name);
    expect(manifest.status, manifest.body).to.equal(200);
    const config = await proxyGet('/config', name);
    expect(config.status, config.body).to.equal(200);
    // The layer table reads the config's diff IDs: a deep document must not trouble it either.
    const layers = await proxyGet('/layers', name);
    expect(layers.status, layers.body).to.equal(200);
    expect(JSON.parse(layers.body)).to.have.length(1);
  }

  async function expectRefused(name: string, oracle: RegExp, ours: RegExp): Promise<void> {
    expect(await skopeoVerdict(name)).to.match(oracle);
    const manifest = await proxyGet('/manifest', name);
    expect(manifest.status, manifest.body).to.equal(502);
    const error = JSON.parse(manifest.body) as { code: string; message: string };
    expect(error.code).to.equal('manifest-invalid');
    expect(error.message).to.match(ours);
    // The session goes on: the command line's image is still served.
    expect((await proxy.request('GET', '/manifest')).status, proxy.stderr()).to.equal(200);
    expect(proxy.child.exitCode).to.equal(null);
  }

  it('serves an image whose times are written plainly (the control case)', async function () {
    await expectServed('plain');
  });
  it('serves an OCI manifest nested 10000 levels deep byte for byte', async function () {
    await expectServed('deepManifest');
    expect((await proxyGet('/manifest', 'deepManifest')).body).to.equal(decode(cases.deepManifest!.manifest.bytes));
  });
  it('refuses an OCI manifest nested 10001 levels deep', async function () {
    await expectRefused('tooDeepManifest', /exceeded max depth/, /maximum nesting depth of 10000/);
  });
  it('converts a docker config nested 10000 levels deep, dropping the unknown field', async function () {
    await expectServed('deepConfig');
    expect((await proxyGet('/config', 'deepConfig')).body).to.not.include('"x"');
  });
  it('refuses a docker config nested 10001 levels deep', async function () {
    await expectRefused('tooDeepConfig', /exceeded max depth/, /cannot be converted to OCI: .*maximum nesting depth of 10000/);
  });
  it('refuses a config created time written with an escape, as skopeo does', async function () {
    await expectRefused('escapedCreated', /parsing time/, /created: "1970-01-01T00:00:00Z" is written with escapes/);
  });
  it('refuses a history created time written with an escape, as skopeo does', async function () {
    await expectRefused('escapedHistory', /parsing time/, /history\[0\]\.created: "1970-01-01T00:00:00Z" is written with escapes/);
  });
});
