import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import { ociBlobPath, type FixtureImage } from '../support/image-fixtures.js';
import { type HttpAnswer, spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';
import { type E2eImages, writeE2eImages } from './e2e-images.js';

interface OciManifest {
  readonly mediaType: string;
  readonly config: { readonly digest: Digest; readonly size: number };
  readonly layers: readonly { readonly digest: Digest; readonly size: number }[];
}

function jsonOf<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

describe('end to end: a Node parent over a socketpair', function () {
  this.timeout(30000);
  let images: E2eImages;
  const running: ProxyProcess[] = [];

  before(async () => {
    images = await writeE2eImages();
  });
  after(async () => {
    await images.cleanup();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.dispose()));
  });

  function start(image: string, ...options: string[]): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', ...options, image]);
    running.push(proxy);
    return proxy;
  }

  async function fetchWholeImage(proxy: ProxyProcess, expected: FixtureImage): Promise<void> {
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status).to.equal(200);
    expect(Buffer.from(expected.manifest.bytes).equals(manifest.body), 'OCI manifest served byte for byte').to.equal(true);
    const parsed = jsonOf<OciManifest>(manifest);
    const config = await proxy.request('GET', '/config');
    expect(config.status).to.equal(200);
    expect(config.headers['content-type']).to.equal('application/vnd.oci.image.config.v1+json');
    expect(digestOf(config.body)).to.equal(parsed.config.digest);
    for (const descriptor of [parsed.config, ...parsed.layers]) {
      const blob = await proxy.request('GET', `/blobs/${descriptor.digest}`);
      expect(blob.status).to.equal(200);
      expect(blob.headers['content-length']).to.equal(String(descriptor.size));
      expect(digestOf(blob.body)).to.equal(descriptor.digest);
    }
  }

  it('serves manifest, config and every blob on one keep-alive connection, then quits with 0', async () => {
    const proxy = start(`oci:${images.layout}:multi`, '--override-os', 'linux', '--override-arch', 'amd64');
    const amd64 = images.fixtures.ociIndex.instances[0]!;
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.headers['content-type']).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.headers['manifest-digest'], 'the list digest, as skopeo reports it').to.equal(images.fixtures.ociIndex.manifest.digest);
    expect(manifest.headers['instance-digest']).to.equal(amd64.manifest.digest);
    await fetchWholeImage(proxy, amd64);
    const quit = await proxy.request('POST', '/quit');
    expect(quit.status).to.equal(200);
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('chooses the overridden platform from an index', async () => {
    const proxy = start(`oci:${images.layout}:multi`, '--override-os=linux', '--override-arch=arm64', '--override-variant=v8');
    const arm64 = images.fixtures.ociIndex.instances[1]!;
    expect(arm64.platform.architecture).to.equal('arm64');
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.headers['instance-digest']).to.equal(arm64.manifest.digest);
    await fetchWholeImage(proxy, arm64);
  });

  it('converts a docker schema2 image from a dir: image to OCI and verifies its blobs', async () => {
    const proxy = start(`dir:${images.dirImage}`);
    const manifest = await proxy.request('GET', '/manifest');
    expect(manifest.status).to.equal(200);
    expect(manifest.headers['instance-digest'], 'the pre-conversion manifest').to.equal(images.fixtures.dockerSingle.manifest.digest);
    const parsed = jsonOf<OciManifest>(manifest);
    expect(parsed.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(digestOf((await proxy.request('GET', '/config')).body)).to.equal(parsed.config.digest);
    for (const layer of parsed.layers) expect(digestOf((await proxy.request('GET', `/blobs/${layer.digest}`)).body)).to.equal(layer.digest);
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const proxy = start(`oci:${images.layout}:single`);
    const layer = images.fixtures.ociSingle.layers[0]!;
    const manifest = await proxy.request('HEAD', '/manifest');
    expect(manifest.status).to.equal(200);
    expect(manifest.body.length).to.equal(0);
    expect(manifest.headers['content-length']).to.equal(String(images.fixtures.ociSingle.manifest.bytes.length));
    const blob = await proxy.request('HEAD', `/blobs/${layer.digest}`);
    expect([blob.status, blob.headers['content-length'], blob.body.length]).to.deep.equal([200, String(layer.bytes.length), 0]);
    expect((await proxy.request('GET', `/blobs/${layer.digest}`)).body.length).to.equal(layer.bytes.length);
  });

  it('keeps the connection usable after 400, 404 and 405, and exits 0 when the peer closes', async () => {
    const proxy = start(`oci:${images.layout}:single`);
    const errors: readonly [string, string, number, string][] = [
      ['GET', `/blobs/sha256:${'A'.repeat(64)}`, 400, 'bad-request'],
      ['GET', `/blobs/sha256%2F..%2F..%2Findex.json`, 400, 'bad-request'],
      ['GET', `/blobs/sha256:${'0'.repeat(64)}`, 404, 'blob-not-found'],
      ['GET', '/nowhere', 404, 'not-found'],
      ['DELETE', '/manifest', 405, 'method-not-allowed'],
      ['GET', '/quit', 405, 'method-not-allowed'],
    ];
    for (const [method, path, status, code] of errors) {
      const answer = await proxy.request(method, path);
      expect([answer.status, jsonOf<{ code: string }>(answer).code], `${method} ${path}`).to.deep.equal([status, code]);
      expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
    }
    proxy.socket.end();
    expect(await proxy.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('answers errors as JSON and reports them on stderr unless --quiet; a missing image is an answer, not noise', async () => {
    for (const quiet of [false, true]) {
      const proxy = start(`oci:${images.layout}:missing`, ...(quiet ? ['-q'] : []));
      const answer = await proxy.request('GET', '/manifest');
      expect(answer.status).to.equal(404);
      expect(jsonOf<{ code: string; message: string }>(answer).code).to.equal('image-not-found');
      expect(jsonOf<{ message: string }>(answer).message).to.contain('missing');
      const bad = await proxy.request('GET', '/blobs/sha256:NOTHEX');
      expect([bad.status, jsonOf<{ code: string }>(bad).code]).to.deep.equal([400, 'bad-request']);
      expect((await proxy.request('POST', '/quit')).status).to.equal(200);
      expect((await proxy.exited).code).to.equal(0);
      if (quiet) expect(proxy.stderr()).to.equal('');
      else expect(proxy.stderr()).to.match(/^container-image-proxy: GET \/blobs\/sha256:NOTHEX: bad-request: [^\n]*\n$/);
    }
  });

  it('tears down a corrupt blob: fewer bytes than Content-Length, then a non-zero exit with one clear line', async () => {
    const layout = join(images.root, 'corrupt-layout');
    await cp(images.layout, layout, { recursive: true });
    const layer = images.fixtures.ociLarge.layers[0]!;
    const file = await open(ociBlobPath(layout, layer.digest), 'r+');
    try {
      const offset = Math.floor(layer.bytes.length / 2);
      await file.write(Buffer.from([layer.bytes[offset]! ^ 0xff]), 0, 1, offset);
    } finally {
      await file.close();
    }
    const proxy = start(`oci:${layout}:large`);
    const answer = await proxy.request('GET', `/blobs/${layer.digest}`);
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-length']).to.equal(String(layer.bytes.length));
    expect(answer.complete).to.equal(false);
    expect(answer.body.length).to.be.lessThan(layer.bytes.length);
    const exit = await proxy.exited;
    expect(exit.code).to.equal(1);
    const lines = proxy.stderr().trimEnd().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0])
      .to.match(/digest-mismatch/)
      .and.to.contain(layer.digest);
  });
});
