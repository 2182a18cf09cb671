/**
 * docker-daemon: through the real CLI against Debian's dockerd (docker.io 20.10, its own data
 * root, vfs, no networking), whose export differs from podman's (directories and real files
 * per legacy layer instead of symbolic links). The image is built with buildah and loaded into
 * dockerd from podman's export; skopeo's inspect and copy are the oracle.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  buildTwoLayerImage,
  type BuiltImage,
  copyBetweenEngines,
  endSessionsLeavingNoExport,
  makeEngineStore,
  type RunningEngine,
  startDockerd,
  startPodmanService,
} from '../../support/docker-engine.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { makeSkopeoEnvironment, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { type ProxyProcess, spawnProxy } from '../../support/spawn-proxy.js';
import { errorOf, isolatedEnv } from '../registry/proxy-session.js';
import { expectSkopeosImage, type SkopeoView, skopeoView } from './oracle.js';

describe("docker-daemon: end to end against Debian's dockerd", function () {
  this.timeout(120_000);
  let work: string;
  /** The proxies' $TMPDIR. */
  let tmp: string;
  let skopeoEnv: SkopeoEnvironment;
  let dockerd: RunningEngine | undefined;
  let image: BuiltImage;
  let oracle: SkopeoView;
  const started: ProxyProcess[] = [];

  function start(args: readonly string[]): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', '--daemon-host', dockerd!.host, ...args], { env: isolatedEnv(work, { TMPDIR: tmp }) });
    started.push(proxy);
    return proxy;
  }

  before(async function () {
    requireRegistryTools(this);
    work = makeTempDir('docker-daemon-dockerd');
    tmp = join(work, 'tmp');
    mkdirSync(tmp);
    skopeoEnv = makeSkopeoEnvironment();
    const store = makeEngineStore(join(work, 'store'));
    image = await buildTwoLayerImage(store, 'localhost/daemon-test/app:v1');
    const podman = await startPodmanService(store, `unix://${join(work, 'podman.sock')}`, 'unix');
    try {
      dockerd = await startDockerd(join(work, 'dockerd'));
      await copyBetweenEngines(podman, dockerd, image.name, join(work, 'export.tar'));
    } finally {
      await podman.stop();
    }
    oracle = await skopeoView(skopeoEnv, dockerd.host, `docker-daemon:${image.name}`, join(work, 'oracle'));
  });
  afterEach(() => endSessionsLeavingNoExport(started, tmp));
  after(async () => {
    await dockerd?.stop();
    skopeoEnv?.cleanup();
    if (work) removeTempDir(work);
  });

  it("manifest, config and every blob are skopeo's copy; Manifest-Digest is skopeo inspect's", async () => {
    const manifest = await expectSkopeosImage(start([`docker-daemon:${image.name}`]), oracle);
    expect(manifest.layers).to.have.length(2);
  });

  it('the image ID form names the same image', async () => {
    await expectSkopeosImage(start([`docker-daemon:${image.id}`]), oracle);
  });

  it("an unknown image is image-not-found with dockerd's message, and the session goes on", async () => {
    const proxy = start([]);
    const unknown = await proxy.request('GET', `/manifest?image=${encodeURIComponent('docker-daemon:localhost/daemon-test/none:v1')}`);
    expect([unknown.status, errorOf(unknown).code]).to.deep.equal([404, 'image-not-found']);
    expect(errorOf(unknown).message).to.include('has no image localhost/daemon-test/none:v1');
    const known = await proxy.request('GET', `/manifest?image=${encodeURIComponent(`docker-daemon:${image.name}`)}`);
    expect([known.status, known.headers['manifest-digest']]).to.deep.equal([200, oracle.digest]);
  });
});
