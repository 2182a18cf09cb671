/**
 * docker-daemon: through the real CLI against podman's Docker Engine API (`podman system
 * service`, its own vfs store, an image built with buildah): on a unix socket named by
 * --daemon-host or $DOCKER_HOST, on tcp:// (plain as docker reads $DOCKER_HOST, TLS as skopeo
 * reads --daemon-host), through a TLS front that wants a client certificate, by image ID,
 * through the TypeScript, Python and Rust clients, and the temporary export's life. skopeo's
 * inspect and copy of the same image are the oracle.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import { ImageProxy } from '../../../src/client/index.js';
import { pythonAvailable, runScenario } from '../../client/python-driver.js';
import { cargoTest, runExample, rustToolchainMissing } from '../../client/rust-cargo.js';
import { requireTool } from '../e2e-images.js';
import {
  buildTwoLayerImage,
  type BuiltImage,
  endSessionsLeavingNoExport,
  exportsIn,
  makeEngineStore,
  type RunningEngine,
  startPodmanService,
  startTlsFront,
} from '../../support/docker-engine.js';
import { makeTestPki } from '../../support/registry/certs.js';
import { requireRegistryTools } from '../../support/registry/install.js';
import { freePort, lastLines, makeTempDir, removeTempDir } from '../../support/registry/processes.js';
import { makeSkopeoEnvironment, type SkopeoEnvironment, skopeo } from '../../support/registry/skopeo.js';
import { type ProxyProcess, spawnProxy } from '../../support/spawn-proxy.js';
import { errorOf, isolatedEnv } from '../registry/proxy-session.js';
import { expectSkopeosImage, type SkopeoView, skopeoView } from './oracle.js';

describe("docker-daemon: end to end against podman's Docker Engine API", function () {
  this.timeout(120_000);
  let work: string;
  /** The proxies' $TMPDIR. */
  let tmp: string;
  let skopeoEnv: SkopeoEnvironment;
  let engine: RunningEngine;
  let image: BuiltImage;
  let oracle: SkopeoView;
  const started: ProxyProcess[] = [];
  const stops: (() => Promise<void>)[] = [];

  function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', ...args], { env: isolatedEnv(work, { TMPDIR: tmp, ...env }) });
    started.push(proxy);
    return proxy;
  }

  before(async function () {
    requireRegistryTools(this);
    work = makeTempDir('docker-daemon-podman');
    tmp = join(work, 'tmp');
    mkdirSync(tmp);
    skopeoEnv = makeSkopeoEnvironment();
    const store = makeEngineStore(join(work, 'store'));
    image = await buildTwoLayerImage(store, 'localhost/daemon-test/app:v1');
    engine = await startPodmanService(store, `unix://${join(work, 'podman.sock')}`, 'unix');
    stops.push(() => engine.stop());
    oracle = await skopeoView(skopeoEnv, engine.host, `docker-daemon:${image.name}`, join(work, 'oracle'));
  });
  afterEach(() => endSessionsLeavingNoExport(started, tmp));
  after(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    skopeoEnv?.cleanup();
    if (work) removeTempDir(work);
  });

  it("--daemon-host unix://: manifest, config and every blob are skopeo's copy; Manifest-Digest is skopeo inspect's", async () => {
    const manifest = await expectSkopeosImage(start(['--daemon-host', engine.host, `docker-daemon:${image.name}`]), oracle);
    expect(manifest.layers).to.have.length(2);
  });

  it('the image ID form names the same image', async () => {
    await expectSkopeosImage(start(['--daemon-host', engine.host, `docker-daemon:${image.id}`]), oracle);
  });

  it('$DOCKER_HOST=unix://… is used without --daemon-host, and --daemon-host wins over it', async () => {
    await expectSkopeosImage(start([`docker-daemon:${image.name}`], { DOCKER_HOST: engine.host }), oracle);
    await expectSkopeosImage(
      start(['--daemon-host', engine.host, `docker-daemon:${image.name}`], { DOCKER_HOST: `unix://${join(work, 'elsewhere.sock')}` }),
      oracle,
    );
  });

  it('tcp://: plain HTTP from $DOCKER_HOST (as docker reads it), TLS from --daemon-host (as skopeo reads it), http:// plain', async () => {
    const port = await freePort();
    const store = makeEngineStore(join(work, 'store'));
    const tcp = await startPodmanService(store, `tcp://127.0.0.1:${port}`, 'tcp');
    stops.push(() => tcp.stop());
    await expectSkopeosImage(start([`docker-daemon:${image.name}`], { DOCKER_HOST: tcp.host }), oracle);
    await expectSkopeosImage(start(['--daemon-host', `http://127.0.0.1:${port}`, `docker-daemon:${image.name}`]), oracle);
    const tls = start(['--daemon-host', tcp.host, `docker-daemon:${image.name}`]);
    const refused = await tls.request('GET', '/manifest');
    expect([refused.status, errorOf(refused).code]).to.deep.equal([502, 'network']);
    expect(errorOf(refused).message).to.include(`${tcp.host} (--daemon-host)`).and.include('an engine without TLS is reached with http://HOST:PORT');
  });

  it('TLS: $DOCKER_TLS_VERIFY with ca.pem, cert.pem and key.pem from $DOCKER_CERT_PATH; no client certificate, no export', async () => {
    const pki = await makeTestPki(join(work, 'pki'), '127.0.0.1', ['IP:127.0.0.1', 'DNS:localhost']);
    const front = await startTlsFront(pki, engine.socketPath!, true);
    stops.push(() => front.stop());
    const certs = join(work, 'docker-certs');
    mkdirSync(certs);
    copyFileSync(pki.caPath, join(certs, 'ca.pem'));
    writeFileSync(join(certs, 'cert.pem'), pki.certPem);
    writeFileSync(join(certs, 'key.pem'), pki.keyPem);
    const env = { DOCKER_HOST: front.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs };
    await expectSkopeosImage(start([`docker-daemon:${image.name}`], env), oracle);

    const caOnly = join(work, 'docker-ca-only');
    mkdirSync(caOnly);
    copyFileSync(pki.caPath, join(caOnly, 'ca.pem'));
    const anonymous = start([`docker-daemon:${image.name}`], { ...env, DOCKER_CERT_PATH: caOnly });
    const refused = await anonymous.request('GET', '/manifest');
    expect([refused.status, errorOf(refused).code], errorOf(refused).message).to.deep.equal([502, 'network']);
    const unverified = start([`docker-daemon:${image.name}`], { ...env, DOCKER_CERT_PATH: join(work, 'no-such-certs') });
    const untrusted = await unverified.request('GET', '/manifest');
    expect([untrusted.status, errorOf(untrusted).code]).to.deep.equal([502, 'network']);
    expect(errorOf(untrusted).message).to.match(/certificate/i);
  });

  it('an unknown image is image-not-found, and the session goes on', async () => {
    const proxy = start(['--daemon-host', engine.host]);
    const unknown = await proxy.request('GET', `/manifest?image=${encodeURIComponent('docker-daemon:localhost/daemon-test/none:v1')}`);
    expect([unknown.status, errorOf(unknown).code]).to.deep.equal([404, 'image-not-found']);
    const known = await proxy.request('GET', `/manifest?image=${encodeURIComponent(`docker-daemon:${image.name}`)}`);
    expect([known.status, known.headers['manifest-digest']]).to.deep.equal([200, oracle.digest]);
  });

  it('policy.json: NAME:TAG is judged by the name\'s docker-daemon scopes, an image ID by the "" scope alone, as skopeo judges them', async () => {
    const policy = join(work, 'daemon-policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: { 'docker-daemon': { 'localhost/daemon-test': [{ type: 'reject' }], '': [{ type: 'insecureAcceptAnything' }] } },
      }),
    );
    const judged = async (reference: string) => {
      const proxy = spawnProxy(['--policy', policy, '--daemon-host', engine.host, reference], { env: isolatedEnv(work, { TMPDIR: tmp }) });
      started.push(proxy);
      return proxy.request('GET', '/signatures');
    };
    const byName = await judged(`docker-daemon:${image.name}`);
    expect([byName.status, errorOf(byName).code]).to.deep.equal([403, 'policy-rejected']);
    const byId = await judged(`docker-daemon:${image.id}`);
    expect(byId.status, byId.body.toString()).to.equal(200);
    expect(JSON.parse(byId.body.toString())).to.deep.include({ allowed: true, scope: 'docker-daemon:""' });

    const env = makeSkopeoEnvironment();
    try {
      writeFileSync(env.policyPath, readFileSync(policy));
      const copy = (reference: string) =>
        skopeo(env, ['copy', '--quiet', '--src-daemon-host', engine.host, reference, `dir:${join(env.dir, reference.slice(-6))}`]);
      await copy(`docker-daemon:${image.id}`);
      const refused = await copy(`docker-daemon:${image.name}`).then(
        () => 'copied',
        (err: Error) => err.message,
      );
      expect(refused, 'skopeo rejects the name too').to.include('rejected');
    } finally {
      env.cleanup();
    }
  });

  it('through the TypeScript client: layers decompress to their diff IDs, an unknown image is optional, quit removes the export', async () => {
    const clientTmp = join(work, 'tmp-client');
    mkdirSync(clientTmp);
    const proxy = await ImageProxy.spawn({
      image: `docker-daemon:${image.id}`,
      args: ['--insecure-policy', '--daemon-host', engine.host],
      env: isolatedEnv(work, { TMPDIR: clientTmp }),
      stderr: 'ignore',
    });
    try {
      expect((await proxy.manifest()).digest).to.equal(oracle.digest);
      const layers = await proxy.layers();
      expect(layers).to.have.length(2);
      for (const layer of layers) {
        const hash = createHash('sha256');
        for await (const chunk of await proxy.decompressedLayer(layer.digest)) hash.update(chunk as Buffer);
        expect(`sha256:${hash.digest('hex')}`).to.equal(layer.diffID);
      }
      expect(await proxy.openImageOptional('docker-daemon:localhost/daemon-test/none:v1')).to.equal(false);
      expect(exportsIn(clientTmp)).to.have.length(1);
    } finally {
      await proxy.quit();
    }
    expect(exportsIn(clientTmp), 'the proxy removes its export when it quits').to.deep.equal([]);
  });

  it('through the Python client: the layers extract to the files buildah copied in; quit removes the export', function () {
    requireTool(this, pythonAvailable, 'python3');
    const pythonTmp = join(work, 'tmp-python');
    mkdirSync(pythonTmp);
    const out = runScenario<{ files: Record<string, string>; exit: number }>(
      'extract-layers',
      { image: `docker-daemon:${image.name}`, args: ['--insecure-policy', '-q', '--daemon-host', engine.host] },
      { ...process.env, TMPDIR: pythonTmp },
    );
    expect(out.files).to.deep.equal({
      'etc/greeting': createHash('sha256').update('hello from a Docker engine\n').digest('hex'),
      'srv/data.bin': createHash('sha256').update(Buffer.alloc(300_000, 7)).digest('hex'),
    });
    expect(out.exit).to.equal(0);
    expect(exportsIn(pythonTmp)).to.deep.equal([]);
  });

  it("through the Rust client: the fetch example's blobs are skopeo's copy, each layer verifies under its diff ID; quit removes the export", async function () {
    this.timeout(20 * 60_000); // a first build compiles hyper and tokio
    const missing = rustToolchainMissing();
    requireTool(this, missing === undefined, missing ?? '');
    const built = await cargoTest();
    if (built.code !== 0) throw new Error(`cargo test failed (${built.code}):\n${lastLines(built.stdout + built.stderr, 40)}`);
    const rustTmp = join(work, 'tmp-rust');
    mkdirSync(rustTmp);
    const dir = join(work, 'rust-out');
    const run = await runExample('fetch', [`docker-daemon:${image.name}`, dir, '--insecure-policy', '--daemon-host', engine.host], {
      ...process.env,
      TMPDIR: rustTmp,
    });
    const out = JSON.parse(run.stdout) as { fetched?: { digest: string; layers: { digest: string; diffID: string }[] }; error?: unknown; quit?: string };
    expect(out.error, run.stderr).to.equal(undefined);
    expect(out.fetched!.digest, "Manifest-Digest is skopeo inspect's").to.equal(oracle.digest);
    expect(readFileSync(join(dir, 'manifest.json')).equals(oracle.manifest), "the manifest is skopeo's").to.equal(true);
    const layers = out.fetched!.layers;
    expect(layers).to.have.length(2);
    expect(
      layers.map((l) => l.diffID),
      'layers served uncompressed, named by their diff IDs',
    ).to.deep.equal(layers.map((l) => l.digest));
    const blobs = readdirSync(join(dir, 'blobs/sha256'));
    expect(blobs).to.have.length(3); // the config and both layers
    for (const name of blobs) {
      expect(
        readFileSync(join(dir, 'blobs/sha256', name)).equals(readFileSync(join(oracle.layout, 'blobs/sha256', name))),
        `blob ${name} is what skopeo copied`,
      ).to.equal(true);
    }
    for (const name of readdirSync(join(dir, 'layers'))) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(dir, 'layers', name)))
          .digest('hex'),
        name,
      ).to.equal(name.replace(/\.tar$/, ''));
    }
    expect(readdirSync(join(dir, 'layers'))).to.have.length(2);
    expect(out.quit).to.equal('the proxy exited with 0');
    expect(exportsIn(rustTmp)).to.deep.equal([]);
  });

  it('the export is one private file in $TMPDIR while the image is open; POST /close and SIGTERM remove it', async () => {
    const tmp = join(work, 'tmp-life');
    mkdirSync(tmp);
    const name = `docker-daemon:${image.name}`;
    const proxy = start(['--daemon-host', engine.host, name], { TMPDIR: tmp });
    expect((await proxy.request('GET', '/manifest')).status).to.equal(200);
    const [directory, ...more] = exportsIn(tmp);
    expect(more, 'one export').to.deep.equal([]);
    expect(statSync(join(tmp, directory!)).mode & 0o777, 'a directory for this user alone').to.equal(0o700);
    const files = readdirSync(join(tmp, directory!));
    expect(files).to.have.length(1);
    expect(statSync(join(tmp, directory!, files[0]!)).mode & 0o777, 'a file for this user alone').to.equal(0o600);

    const closed = await proxy.request('POST', `/close?image=${encodeURIComponent(name)}`);
    expect(closed.status).to.equal(200);
    expect(exportsIn(tmp), 'closing the image removes its export').to.deep.equal([]);

    expect((await proxy.request('GET', '/config')).status, 'the next request exports it again').to.equal(200);
    expect(exportsIn(tmp)).to.have.length(1);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).to.deep.equal({ code: 143, signal: null });
    expect(exportsIn(tmp), 'SIGTERM removes it').to.deep.equal([]);
  });
});
