/**
 * StorageTransport against stores skopeo writes: the transport contract (images whose layers
 * were stored uncompressed, so the stored manifest's blobs are exactly what the store rebuilds),
 * and storage.conf found and read as containers/storage reads it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { expect } from 'chai';
import { layerChain } from '../../src/adapters/containers-storage/image-lookup.js';
import { loadDefaultStore } from '../../src/adapters/containers-storage/storage-conf.js';
import { bigDataFileName } from '../../src/adapters/containers-storage/store-layout.js';
import { assembleLayerTar } from '../../src/adapters/containers-storage/tar-split-assembly.js';
import { StorageTransport } from '../../src/adapters/containers-storage/storage-transport.js';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { parseImageName } from '../../src/domain/reference.js';
import { describeTransportContract, type TransportContractFixture } from '../contract/transport-contract.js';
import { makeImage, makeLayer, PLATFORMS, standardFixtures } from '../support/image-fixtures.js';
import { writeOciLayout } from '../support/image-writers.js';
import { makeStore, removeStore } from '../support/local-stores.js';
import { skopeoOnce } from '../support/registry/skopeo.js';

async function storageContractFixture(): Promise<TransportContractFixture> {
  const plain = (name: string) =>
    makeLayer([{ path: `${name}/` }, { path: `${name}/file.txt`, content: `the ${name} layer, stored uncompressed\n`.repeat(20) }, { path: `${name}/empty` }], {
      format: 'oci',
      compression: 'none',
    });
  const single = makeImage({ format: 'oci', platform: PLATFORMS.amd64, layers: [plain('base'), plain('app')] });
  const large = standardFixtures().ociLarge;
  const work = await mkdtemp(join(tmpdir(), 'storage-contract-'));
  const store = await makeStore(work, 'overlay', 'overlay');
  const layout = join(work, 'layout');
  await writeOciLayout(layout, [
    { artifact: single, name: 'single' },
    { artifact: large, name: 'large' },
  ]);
  for (const name of ['single', 'large'])
    await skopeoOnce(['copy', '--quiet', `oci:${layout}:${name}`, `containers-storage:${store.spec}localhost/contract/${name}:1`]);
  const ref = (name: string) => parseImageName(`containers-storage:${store.spec}localhost/contract/${name}:1`);
  return {
    transport: new StorageTransport({ defaultStore: () => Promise.reject(new Error('the contract names its store')) }),
    single: { reference: ref('single'), expected: single },
    large: { reference: ref('large'), expected: large },
    missing: ref('absent'),
    async cleanup() {
      await removeStore(store);
      await rm(work, { recursive: true, force: true });
    },
  };
}

describeTransportContract('containers-storage: an overlay store written by skopeo', storageContractFixture, { lists: false });

describe('storage.conf, found and read as containers/storage does', function () {
  let dir: string;
  const env = (extra: Record<string, string> = {}) => ({ HOME: join(dir, 'home'), ...extra });
  const system = () => [join(dir, 'etc.conf'), join(dir, 'usr.conf')] as const;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'storage-conf-'));
    await mkdir(join(dir, 'home', '.config', 'containers'), { recursive: true });
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the rootful defaults when no file exists', async function () {
    const store = await loadDefaultStore({ env: env(), homeDir: join(dir, 'home'), uid: 0, systemPaths: system() });
    expect(store).to.include({ graphRoot: '/var/lib/containers/storage', runRoot: '/run/containers/storage', driver: undefined });
  });

  it('prefers /etc over /usr/share, and reads driver, roots and additional image stores, $UID and variables expanded', async function () {
    await writeFile(system()[1], '[storage]\ndriver = "vfs"\n');
    await writeFile(
      system()[0],
      '[storage]\ndriver = "overlay2"\ngraphroot = "/srv/$UID/${STORE}"\nrunroot = "/run/x"\n[storage.options]\nadditionalimagestores = ["/ro/one", "/ro/two"]\n',
    );
    const store = await loadDefaultStore({ env: env({ STORE: 'images' }), homeDir: join(dir, 'home'), uid: 0, systemPaths: system() });
    expect(store).to.deep.include({
      driver: 'overlay',
      graphRoot: '/srv/0/images',
      runRoot: '/run/x',
      additionalImageStores: ['/ro/one', '/ro/two'],
      origin: system()[0],
    });
  });

  it('lets $CONTAINERS_STORAGE_CONF name the file, which must exist', async function () {
    const explicit = join(dir, 'explicit.conf');
    await writeFile(explicit, '[storage]\ndriver = "vfs"\ngraphroot = "/g"\nrunroot = "/r"\n');
    const store = await loadDefaultStore({ env: env({ CONTAINERS_STORAGE_CONF: explicit }), homeDir: join(dir, 'home'), uid: 0, systemPaths: system() });
    expect(store).to.include({ driver: 'vfs', graphRoot: '/g', runRoot: '/r' });
    const missing = await loadDefaultStore({
      env: env({ CONTAINERS_STORAGE_CONF: join(dir, 'nowhere.conf') }),
      homeDir: join(dir, 'home'),
      uid: 0,
      systemPaths: system(),
    }).catch((err: unknown) => err);
    expect(isProxyError(missing, 'config-invalid')).to.equal(true);
    expect((missing as Error).message).to.contain('nowhere.conf');
  });

  it("gives a rootless user the per-user file, else the rootless defaults with the system file's driver", async function () {
    const rootless = await loadDefaultStore({
      env: env({ XDG_DATA_HOME: '/data', XDG_RUNTIME_DIR: '/run/user/1000' }),
      homeDir: join(dir, 'home'),
      uid: 1000,
      systemPaths: system(),
    });
    expect(rootless).to.deep.include({
      driver: 'overlay',
      graphRoot: '/data/containers/storage',
      runRoot: '/run/user/1000/containers',
      additionalImageStores: [],
    });
    await writeFile(join(dir, 'home', '.config', 'containers', 'storage.conf'), '[storage]\ndriver = "vfs"\n');
    const own = await loadDefaultStore({
      env: env({ XDG_DATA_HOME: '/data', XDG_RUNTIME_DIR: '/run/user/1000' }),
      homeDir: join(dir, 'home'),
      uid: 1000,
      systemPaths: system(),
    });
    expect(own).to.deep.include({ driver: 'vfs', graphRoot: '/data/containers/storage', runRoot: '/run/user/1000/containers' });
  });

  it('reports a malformed file and wrongly typed settings as config-invalid, naming the file', async function () {
    for (const [text, fragment] of [
      ['[storage\n', 'not valid TOML'],
      ['[storage]\ngraphroot = 3\n', 'storage.graphroot must be a string'],
      ['[storage.options]\nadditionalimagestores = "/x"\n', 'additionalimagestores must be an array'],
    ] as const) {
      const path = join(dir, 'bad.conf');
      await writeFile(path, text);
      const err = await loadDefaultStore({ env: env({ CONTAINERS_STORAGE_CONF: path }), homeDir: join(dir, 'home'), uid: 0 }).catch(
        (reason: unknown) => reason,
      );
      expect(isProxyError(err, 'config-invalid'), String(err)).to.equal(true);
      expect((err as Error).message)
        .to.contain(path)
        .and.to.contain(fragment);
    }
  });
});

describe('big data file names (makeBigDataBaseName)', function () {
  const cases: readonly (readonly [string, string])[] = [
    ['manifest', 'manifest'],
    ['signatures', 'signatures'],
    [`sha256:${'ab'.repeat(32)}`, `=${Buffer.from(`sha256:${'ab'.repeat(32)}`).toString('base64')}`],
    ['manifest-sha256:12', `=${Buffer.from('manifest-sha256:12').toString('base64')}`],
    ['abc:', 'abc:'],
    ['', ''],
    ['Manifest', `=${Buffer.from('Manifest').toString('base64')}`],
  ];
  for (const [key, name] of cases) {
    it(`${JSON.stringify(key)} → ${JSON.stringify(name)}`, function () {
      expect(bigDataFileName(key)).to.equal(name);
    });
  }
});

describe('tar-split assembly (asm.WriteOutputTarStream)', function () {
  let dir: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'tar-split-'));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  /** A layer directory and its tar-split record: raw segments and file entries, in order. */
  async function layer(name: string, entries: readonly object[]): Promise<{ layerId: string; tarSplit: string; graphRoot: string; directory: string }> {
    const directory = join(dir, name);
    await mkdir(directory, { recursive: true });
    const tarSplit = join(dir, `${name}.tar-split.gz`);
    await writeFile(tarSplit, gzipSync(entries.map((entry) => `${JSON.stringify(entry)}\n`).join('')));
    return { layerId: name, tarSplit, graphRoot: dir, directory };
  }

  const segment = (text: string) => ({ type: 2, payload: Buffer.from(text).toString('base64'), position: 0 });

  it('interleaves raw segments with file contents, names in raw bytes included, and skips empty files', async function () {
    const rawName = Buffer.from([0x64, 0xe9, 0x6a, 0xe0]); // latin1 "déjà", not UTF-8
    const files = await layer('raw-names', [
      segment('<header 1>'),
      { type: 1, name: 'etc/motd', size: 6, payload: null, position: 1 },
      segment('<header 2>'),
      { type: 1, name_raw: rawName.toString('base64'), size: 4, payload: null, position: 3 },
      { type: 1, name: 'empty', payload: null, position: 4 },
      segment('<end>'),
    ]);
    await mkdir(join(files.directory, 'etc'));
    await writeFile(join(files.directory, 'etc', 'motd'), 'hello\n');
    await writeFile(Buffer.concat([Buffer.from(`${files.directory}/`), rawName]), 'raw!');
    const bytes = await collectStream(assembleLayerTar(files));
    expect(bytes.toString('latin1')).to.equal('<header 1>hello\n<header 2>raw!<end>');
  });

  it('fails the stream at a line longer than any tar header, without holding it', async function () {
    const files = await layer('endless-line', []);
    await writeFile(files.tarSplit, gzipSync(Buffer.alloc(40 * 1024 * 1024, 'x')));
    const err = await collectStream(assembleLayerTar(files)).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isProxyError(err), String(err)).to.equal(true);
    expect((err as Error).message)
      .to.contain(files.tarSplit)
      .and.to.contain('a line longer than');
  });

  for (const [what, entry, fragment] of [
    ['a name that leaves the layer', { type: 1, name: '../outside', size: 3 }, 'leaves the layer directory'],
    ['a file the directory lacks', { type: 1, name: 'gone.txt', size: 3 }, 'is missing'],
    ['a file of another size', { type: 1, name: 'short.txt', size: 30 }, "the layer's record says 30"],
    ['an entry of an unknown type', { type: 7 }, 'unknown type'],
  ] as const) {
    it(`fails the stream, never ends it early, for ${what}`, async function () {
      const files = await layer(what.replace(/\W+/g, '-'), [segment('<header>'), entry]);
      await writeFile(join(files.directory, 'short.txt'), 'abc');
      const err = await collectStream(assembleLayerTar(files)).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isProxyError(err), String(err)).to.equal(true);
      expect((err as Error).message).to.contain(fragment);
    });
  }
});

describe('tar-split assembly never reads outside the layer directory', function () {
  let dir: string;
  let outside: string;
  const SECRET = 'SECRET!';

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'tar-split-links-'));
    outside = join(dir, 'outside');
    await mkdir(join(outside, 'sub'), { recursive: true });
    for (const name of ['two', 'sub/two']) await writeFile(join(outside, name), SECRET);
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  /** A 1 MiB first file, so the stream is still inside it when the test changes the directory. */
  async function layer(second: string): Promise<{ layerId: string; tarSplit: string; graphRoot: string; directory: string }> {
    const graphRoot = join(dir, 'graph');
    const directory = join(graphRoot, 'overlay', 'l1', 'diff');
    await mkdir(join(directory, 'sub'), { recursive: true });
    await writeFile(join(directory, 'sub', 'one'), Buffer.alloc(1024 * 1024, 1));
    await writeFile(join(directory, second), 'inside!');
    const tarSplit = join(graphRoot, 'l1.tar-split.gz');
    const entries = [
      { type: 1, name: 'sub/one', size: 1024 * 1024 },
      { type: 1, name: second, size: SECRET.length },
    ];
    await writeFile(tarSplit, gzipSync(entries.map((entry) => `${JSON.stringify(entry)}\n`).join('')));
    return { layerId: 'l1', tarSplit, graphRoot, directory };
  }

  /** Reads the first chunk, lets `change` alter the store, reads the rest; what came out, and the error if any. */
  async function readWhileChanging(files: Awaited<ReturnType<typeof layer>>, change: () => Promise<void>): Promise<{ bytes: string; err: unknown }> {
    const chunks: Buffer[] = [];
    let changed = false;
    try {
      for await (const chunk of assembleLayerTar(files)) {
        chunks.push(chunk as Buffer);
        if (!changed) await change();
        changed = true;
      }
      return { bytes: Buffer.concat(chunks).toString('latin1'), err: undefined };
    } catch (err) {
      return { bytes: Buffer.concat(chunks).toString('latin1'), err };
    }
  }

  it('a directory of the layer swapped for a symbolic link mid-read', async function () {
    const files = await layer('sub/two');
    const { bytes, err } = await readWhileChanging(files, async () => {
      await rename(join(files.directory, 'sub'), join(files.directory, 'sub.old'));
      await symlink(join(outside, 'sub'), join(files.directory, 'sub'));
    });
    expect(bytes).not.to.contain(SECRET);
    expectOwnBytesOrError(bytes, err);
  });

  it('the layer directory swapped for a symbolic link mid-read', async function () {
    const files = await layer('two');
    const { bytes, err } = await readWhileChanging(files, async () => {
      await rename(files.directory, `${files.directory}.old`);
      await symlink(outside, files.directory);
    });
    expect(bytes).not.to.contain(SECRET);
    expectOwnBytesOrError(bytes, err);
  });

  /** The directories already opened are the layer's own, wherever they were moved: their files, or an error. */
  function expectOwnBytesOrError(bytes: string, err: unknown): void {
    if (err === undefined) expect(bytes.endsWith('inside!')).to.equal(true);
    else expect(isProxyError(err), String(err)).to.equal(true);
  }

  it('an absolute name is read below the layer directory, not from the root', async function () {
    const files = await layer('/two');
    const { bytes, err } = await readWhileChanging(files, async () => undefined);
    expect(err).to.equal(undefined);
    expect(bytes.endsWith('inside!')).to.equal(true);
  });

  for (const [what, link, target] of [
    ['the layer directory', 'overlay/l1/diff', 'elsewhere/diff'],
    ['a directory on the way to it', 'overlay/l1', 'elsewhere'],
    ['a file', 'overlay/l1/diff/two', 'outside/two'],
  ] as const) {
    it(`${what} is a symbolic link out of the store`, async function () {
      const files = await layer('two');
      // A copy of the layer elsewhere, but for the secret in place of its second file.
      await mkdir(join(dir, 'elsewhere', 'diff', 'sub'), { recursive: true });
      await writeFile(join(dir, 'elsewhere', 'diff', 'sub', 'one'), Buffer.alloc(1024 * 1024, 1));
      await writeFile(join(dir, 'elsewhere', 'diff', 'two'), SECRET);
      await rm(join(files.graphRoot, link), { recursive: true });
      await symlink(join(dir, target), join(files.graphRoot, link));
      const { bytes, err } = await readWhileChanging(files, async () => undefined);
      expect(bytes).not.to.contain(SECRET);
      expect(isProxyError(err), String(err)).to.equal(true);
      expect((err as Error).message).to.contain('symbolic link');
    });
  }
});

describe('store records that are not JSON', function () {
  let graphRoot: string;
  const SECRET = 'root:$y$j9T$secret-hash:19000:0:99999:7:::';
  const IMAGE_ID = 'a'.repeat(64);
  const open = () =>
    new StorageTransport({ defaultStore: () => Promise.reject(new Error('the test names its store')) }).open(
      parseImageName(`containers-storage:[overlay@${graphRoot}+${graphRoot}/run]${IMAGE_ID}`),
      {},
    );

  beforeEach(async function () {
    graphRoot = await mkdtemp(join(tmpdir(), 'storage-records-'));
    await mkdir(join(graphRoot, 'overlay-images', IMAGE_ID), { recursive: true });
  });
  afterEach(async function () {
    await rm(graphRoot, { recursive: true, force: true });
  });

  it('refuses a record whose names are one string, which would match any name it contains', async function () {
    await writeFile(
      join(graphRoot, 'overlay-images', 'images.json'),
      JSON.stringify([{ id: IMAGE_ID, names: 'docker.io/library/busybox:latest-not-this-one' }]),
    );
    const err = await new StorageTransport({ defaultStore: () => Promise.reject(new Error('the test names its store')) })
      .open(parseImageName(`containers-storage:[overlay@${graphRoot}+${graphRoot}/run]busybox`), {})
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(isProxyError(err, 'io'), String(err)).to.equal(true);
    expect((err as Error).message)
      .to.contain(join(graphRoot, 'overlay-images', 'images.json'))
      .and.to.contain('names');
  });

  /** A record file may be a link to a file the client cannot read: the error names it, never quotes it. */
  for (const [what, file] of [
    ['images.json', () => join(graphRoot, 'overlay-images', 'images.json')],
    ['an image manifest', () => join(graphRoot, 'overlay-images', IMAGE_ID, 'manifest')],
  ] as const) {
    it(`names ${what} that is not JSON without quoting what it holds`, async function () {
      if (what !== 'images.json')
        await writeFile(join(graphRoot, 'overlay-images', 'images.json'), JSON.stringify([{ id: IMAGE_ID, 'big-data-names': ['manifest'] }]));
      await writeFile(file(), SECRET);
      const err = await open().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isProxyError(err), String(err)).to.equal(true);
      expect((err as Error).message)
        .to.contain(file())
        .and.to.contain('not valid JSON');
      expect((err as Error).message).not.to.contain('root:');
      expect(String((err as Error).cause ?? '')).not.to.contain('root:');
    });
  }
});

describe('store files that are not regular files', function () {
  let graphRoot: string;
  const IMAGE_ID = 'b'.repeat(64);

  beforeEach(async function () {
    graphRoot = await mkdtemp(join(tmpdir(), 'storage-fifo-'));
    await mkdir(join(graphRoot, 'overlay-images', IMAGE_ID), { recursive: true });
    await mkdir(join(graphRoot, 'overlay-layers'), { recursive: true });
  });
  afterEach(async function () {
    await rm(graphRoot, { recursive: true, force: true });
  });

  /** A FIFO would block a thread-pool worker until a writer came; a device would read forever. */
  for (const [what, file, make] of [
    ['images.json as a FIFO', 'overlay-images/images.json', (path: string) => execFileSync('mkfifo', [path])],
    ['images.json as a link to /dev/zero', 'overlay-images/images.json', (path: string) => symlink('/dev/zero', path)],
    ['layers.json as a FIFO', 'overlay-layers/layers.json', (path: string) => execFileSync('mkfifo', [path])],
    ['the manifest as a FIFO', `overlay-images/${IMAGE_ID}/manifest`, (path: string) => execFileSync('mkfifo', [path])],
  ] as const) {
    it(`refuses ${what}, naming it`, async function () {
      if (!file.endsWith('images.json')) {
        await writeFile(join(graphRoot, 'overlay-images', 'images.json'), JSON.stringify([{ id: IMAGE_ID, layer: 'l1', 'big-data-names': ['manifest'] }]));
      }
      if (!file.endsWith('layers.json')) await writeFile(join(graphRoot, 'overlay-layers', 'layers.json'), JSON.stringify([{ id: 'l1' }]));
      await make(join(graphRoot, file));
      const err = await new StorageTransport({ defaultStore: () => Promise.reject(new Error('the test names its store')) })
        .open(parseImageName(`containers-storage:[overlay@${graphRoot}+${graphRoot}/run]${IMAGE_ID}`), {})
        .then(
          () => undefined,
          (reason: unknown) => reason,
        );
      expect(isProxyError(err, 'io'), String(err)).to.equal(true);
      expect((err as Error).message)
        .to.contain(join(graphRoot, file))
        .and.to.match(/only regular files/);
    });
  }
});

describe('big data blobs', function () {
  let graphRoot: string;

  before(async function () {
    graphRoot = await mkdtemp(join(tmpdir(), 'storage-big-data-'));
  });
  after(async function () {
    await rm(graphRoot, { recursive: true, force: true });
  });

  it('refuses a config whose file no longer hashes to its digest before sending any of it', async function () {
    const id = 'c'.repeat(64);
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length },
      layers: [],
    });
    await mkdir(join(graphRoot, 'overlay-images', id), { recursive: true });
    await writeFile(join(graphRoot, 'overlay-images', 'images.json'), JSON.stringify([{ id, 'big-data-names': ['manifest', digest] }]));
    await writeFile(join(graphRoot, 'overlay-images', id, 'manifest'), manifest);
    await writeFile(join(graphRoot, 'overlay-images', id, bigDataFileName(digest)), 'not the config the manifest names');
    const source = await new StorageTransport({ defaultStore: () => Promise.reject(new Error('the test names its store')) }).open(
      parseImageName(`containers-storage:[overlay@${graphRoot}+${graphRoot}/run]${id}`),
      {},
    );
    const err = await source.blob({ digest: digest as Digest }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isProxyError(err, 'digest-mismatch'), String(err)).to.equal(true);
    expect((err as Error).message).to.contain(join(graphRoot, 'overlay-images', id));
  });
});

describe('layer records in the run root', function () {
  let work: string;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'storage-volatile-'));
  });
  after(async function () {
    await rm(work, { recursive: true, force: true });
  });

  it("finds a layer recorded only in the run root's volatile-layers.json, below one from layers.json", async function () {
    const store = { driver: 'overlay' as const, graphRoot: join(work, 'root'), runRoot: join(work, 'run') };
    await mkdir(join(store.graphRoot, 'overlay-layers'), { recursive: true });
    await mkdir(join(store.runRoot, 'overlay-layers'), { recursive: true });
    await writeFile(join(store.graphRoot, 'overlay-layers', 'layers.json'), JSON.stringify([{ id: 'base' }]));
    await writeFile(join(store.runRoot, 'overlay-layers', 'volatile-layers.json'), JSON.stringify([{ id: 'top', parent: 'base' }]));
    const image = { store, record: { id: 'i'.repeat(64), layer: 'top' } };
    const chain = await layerChain(image, [store]);
    expect(chain.map((layer) => layer.record.id)).to.deep.equal(['base', 'top']);
    // An additional image store has no run root: its volatile layers are not looked for there.
    const err = await layerChain(image, [{ driver: 'overlay', graphRoot: store.graphRoot }]).catch((reason: unknown) => reason);
    expect(isProxyError(err, 'image-not-found'), String(err)).to.equal(true);
    expect((err as Error).message).to.contain('layer top');
  });
});

async function collectStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
