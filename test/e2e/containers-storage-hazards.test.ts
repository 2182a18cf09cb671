/**
 * containers-storage: when the store changes or cannot be read, through the real CLI: an image
 * podman removes while a session holds it or while one of its layers streams, a rootless-style store (owned by another user, with a
 * file only a user ID of its user namespace may read) read by its owner, a layer file changed
 * behind the store's back, and a layer name that leads through a symbolic link.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { bigDataFileName } from '../../src/adapters/containers-storage/store-layout.js';
import { digestOf } from '../../src/domain/digest.js';
import { buildLocalImage, type LocalStore, makeStore, podman, removeStore } from '../support/local-stores.js';
import { run } from '../support/registry/processes.js';
import { agentOver, spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';

interface Manifest {
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
}

/** `nobody`, standing in for the rootless user who owns the store. */
const OWNER = 65534;

describe('end to end: containers-storage hazards', function () {
  this.timeout(120_000);
  let work: string;
  let store: LocalStore;
  const proxies: ProxyProcess[] = [];

  before(async function () {
    expect(process.getuid?.(), 'these tests run as root, to act as the owner of a rootless store').to.equal(0);
    work = await mkdtemp(join(tmpdir(), 'storage-hazards-'));
    await chmod(work, 0o755);
    store = await makeStore(work, 'vfs', 'vfs');
  });
  after(async function () {
    await Promise.all(proxies.map((proxy) => proxy.dispose()));
    if (store !== undefined) await removeStore(store);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  function proxyFor(reference: string, options: { uid?: number; gid?: number } = {}): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', `containers-storage:${store.spec}${reference}`], { ...options, env: { ...process.env, HOME: work } });
    proxies.push(proxy);
    return proxy;
  }

  async function manifestOf(proxy: ProxyProcess): Promise<Manifest> {
    const answer = await proxy.request('GET', '/manifest');
    expect(answer.status, `${answer.body.toString()} ${proxy.stderr()}`).to.equal(200);
    return JSON.parse(answer.body.toString()) as Manifest;
  }

  it('fails a layer of an image podman removed after the session opened it, never completing the body', async function () {
    await buildLocalImage(store, work, 'localhost/doomed:1', { 'big.bin': Buffer.alloc(4 * 1024 * 1024, 1) });
    const proxy = proxyFor('localhost/doomed:1');
    const manifest = await manifestOf(proxy);
    await podman(store, ['rmi', 'localhost/doomed:1']);
    const answer = await proxy.request('GET', `/blobs/${manifest.layers[0]!.digest}`);
    expect(answer.status === 200 && answer.complete, 'a complete body').to.equal(false);
    if (answer.status !== 200) {
      const error = JSON.parse(answer.body.toString()) as { code: string; message: string };
      expect(error.code).to.equal('blob-not-found');
      expect(error.message).to.contain('removed');
    }
  });

  it('ends a layer short when podman removes the image while its body streams, and the proxy says why', async function () {
    // 64 files of 1 MiB of random data: the proxy opens each file as the tar reaches it, so the
    // files after the paused point are gone when the read resumes (an open file would still read).
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 64; i++) files[`data/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(1024 * 1024);
    await buildLocalImage(store, work, 'localhost/streaming:1', files);
    const layer = (await manifestOf(proxyFor('localhost/streaming:1'))).layers[0]!;
    // A fresh session, its connection for this read alone.
    const proxy = proxyFor('localhost/streaming:1');
    const { status, contentLength, body } = await readPausedWhile(proxy, `/blobs/${layer.digest}`, () => podman(store, ['rmi', 'localhost/streaming:1']));
    expect([status, contentLength]).to.deep.equal([200, layer.size]);
    expect(body.length, 'the body ends short').to.be.below(layer.size);
    expect(body.length, 'read past the first bytes before the removal').to.be.above(0);
    expect(await proxy.exited, 'the parent learns of it from the exit status').to.deep.equal({ code: 1, signal: null });
    expect(proxy.stderr())
      .to.match(/blob-not-found/)
      .and.match(/removed or changed while it was read/);
  });

  it('ends a layer short when a file it has not reached yet is overwritten (same size) or truncated while its body streams', async function () {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 64; i++) files[`data/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(1024 * 1024);
    const id = await buildLocalImage(store, work, 'localhost/rewritten:1', files);
    const layerDir = join(store.graphRoot, 'vfs', 'dir', await topLayerOf(id));
    const layer = (await manifestOf(proxyFor('localhost/rewritten:1'))).layers[0]!;
    for (const [change, said] of [
      [(file: string) => writeFile(file, randomBytes(1024 * 1024)), /digest-mismatch: layer sha256:[0-9a-f]{64}: content hashes to/],
      [(file: string) => truncate(file, 1000), /"data\/part-60\.bin" of layer [0-9a-f]{64} is 1000 bytes/],
    ] as const) {
      const proxy = proxyFor('localhost/rewritten:1');
      const { body } = await readPausedWhile(proxy, `/blobs/${layer.digest}`, () => change(join(layerDir, 'data', 'part-60.bin')));
      expect(body.length, 'the body ends short').to.be.below(layer.size);
      expect(await proxy.exited).to.deep.equal({ code: 1, signal: null });
      expect(proxy.stderr()).to.match(said);
    }
  });

  it('fails a layer whose file was changed behind the store, naming the file', async function () {
    const id = await buildLocalImage(store, work, 'localhost/changed:1', { 'etc/config.txt': 'original\n' });
    const proxy = proxyFor('localhost/changed:1');
    const manifest = await manifestOf(proxy);
    const layerId = await topLayerOf(id);
    await appendFile(join(store.graphRoot, 'vfs', 'dir', layerId, 'etc', 'config.txt'), 'tampered\n');
    const answer = await proxy.request('GET', `/blobs/${manifest.layers[0]!.digest}`);
    expect(answer.status === 200 && answer.complete).to.equal(false);
    expect(proxy.stderr()).to.contain('etc/config.txt');
  });

  it('does not read a file through a symbolic link that replaced a directory of the layer', async function () {
    const id = await buildLocalImage(store, work, 'localhost/linked:1', { 'data/secret-path.txt': 'x'.repeat(64) });
    const proxy = proxyFor('localhost/linked:1');
    const manifest = await manifestOf(proxy);
    const layerDir = join(store.graphRoot, 'vfs', 'dir', await topLayerOf(id));
    const elsewhere = join(work, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(elsewhere, 'secret-path.txt'), 'y'.repeat(64));
    await rm(join(layerDir, 'data'), { recursive: true });
    await symlink(elsewhere, join(layerDir, 'data'));
    const answer = await proxy.request('GET', `/blobs/${manifest.layers[0]!.digest}`);
    expect(answer.status === 200 && answer.complete).to.equal(false);
    expect(answer.body.includes(Buffer.from('y'.repeat(64)))).to.equal(false);
    expect(proxy.stderr()).to.contain('symbolic link');
  });

  it('refuses a stored manifest that does not hash to the digest the reference names, as containers/image verifies it', async function () {
    const id = await buildLocalImage(store, work, 'localhost/pinned:1', { 'pinned.txt': 'pinned\n' });
    const first = proxyFor('localhost/pinned:1');
    const digest = (await first.request('GET', '/manifest')).headers['manifest-digest'] as string;
    expect(digest).to.match(/^sha256:/);
    // The manifest kept under its digest and as the image's own, both changed behind the store.
    for (const key of ['manifest', `manifest-${digest}`]) {
      const file = join(store.graphRoot, 'vfs-images', id, bigDataFileName(key));
      await writeFile(file, `${await readFile(file, 'utf8')}\n`);
    }
    const proxy = proxyFor(`localhost/pinned@${digest}`);
    const answer = await proxy.request('GET', '/manifest');
    expect(answer.status, answer.body.toString()).not.to.equal(200);
    expect(JSON.parse(answer.body.toString())).to.include({ code: 'digest-mismatch' });
  });

  it('serves a rootless store to its owner (named, and as the default store), and says to use podman unshare for a file only its user namespace can read', async function () {
    await buildLocalImage(store, work, 'localhost/mine:1', { 'hello.txt': 'readable by the owner\n' });
    const guarded = await buildLocalImage(store, work, 'localhost/guarded:1', { 'etc/shadow': 'root:*:19000::::::\n' });
    await run('chown', ['-R', `${OWNER}:${OWNER}`, join(store.graphRoot, '..')]);
    // What a subordinate ID of the owner's user namespace owns, mode 0600: the owner cannot read it outside.
    const shadow = join(store.graphRoot, 'vfs', 'dir', await topLayerOf(guarded), 'etc', 'shadow');
    await chown(shadow, 100_999, 100_999);
    await chmod(shadow, 0o600);

    const mine = proxyFor('localhost/mine:1', { uid: OWNER, gid: OWNER });
    const manifest = await manifestOf(mine);
    for (const layer of manifest.layers) {
      const blob = await mine.request('GET', `/blobs/${layer.digest}`);
      expect([blob.status, blob.complete, digestOf(blob.body)], mine.stderr()).to.deep.equal([200, true, layer.digest]);
    }
    // The same store as the owner's default one: the per-user storage.conf and the rootless data home.
    const config = join(work, 'config');
    await mkdir(join(config, 'containers'), { recursive: true });
    await writeFile(join(config, 'containers', 'storage.conf'), '[storage]\ndriver = "vfs"\n');
    await mkdir(join(work, 'data', 'containers'), { recursive: true });
    await symlink(store.graphRoot, join(work, 'data', 'containers', 'storage'));
    const rootlessEnv = { ...process.env, HOME: work, XDG_CONFIG_HOME: config, XDG_DATA_HOME: join(work, 'data'), XDG_RUNTIME_DIR: join(work, 'runtime') };
    const byDefault = spawnProxy(['--insecure-policy', 'containers-storage:localhost/mine:1'], { uid: OWNER, gid: OWNER, env: rootlessEnv });
    proxies.push(byDefault);
    expect((await manifestOf(byDefault)).layers).to.deep.equal(manifest.layers);

    const other = proxyFor('localhost/guarded:1', { uid: OWNER, gid: OWNER });
    const layer = (await manifestOf(other)).layers[0]!;
    const answer = await other.request('GET', `/blobs/${layer.digest}`);
    expect(answer.status === 200 && answer.complete).to.equal(false);
    expect(`${answer.body.toString()} ${other.stderr()}`).to.contain('podman unshare');
  });

  /**
   * GETs `path` over the proxy's socket, stops reading after the first bytes (the proxy then
   * stalls on a full socket), runs `meanwhile`, and reads on to the end of the connection.
   */
  function readPausedWhile(
    proxy: ProxyProcess,
    path: string,
    meanwhile: () => Promise<unknown>,
  ): Promise<{ status: number; contentLength: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({ agent: agentOver(proxy.socket), method: 'GET', path, host: 'localhost' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('error', () => undefined); // a short body is what the test inspects
        res.once('close', () => resolve({ status: res.statusCode ?? 0, contentLength: Number(res.headers['content-length']), body: Buffer.concat(chunks) }));
        res.once('data', () => {
          res.pause();
          meanwhile().then(() => res.resume(), reject);
        });
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
      });
      req.once('error', reject);
      req.end();
    });
  }

  /** The top layer of an image, from the store's own records. */
  async function topLayerOf(imageId: string): Promise<string> {
    const records = JSON.parse(await readFile(join(store.graphRoot, 'vfs-images', 'images.json'), 'utf8')) as { id: string; layer: string }[];
    const record = records.find((r) => r.id === imageId);
    if (record === undefined) throw new Error(`image ${imageId} is not in images.json`);
    return record.layer;
  }
});
