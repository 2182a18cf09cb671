/**
 * Encrypted layers through the real CLI, with skopeo as the oracle: skopeo encrypts the example
 * image (`--encryption-key jwe:/pkcs7:/pgp:`), skopeo decrypts it again (`--decryption-key`),
 * and the proxy's `?decrypt=true` bytes must be what skopeo wrote; `?decompress=true` must
 * match the diff IDs. Wrong, missing and malformed keys, a password-protected key, an altered
 * HMAC or ciphertext, and the signature policy are checked the same way.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Readable } from 'node:stream';
import { createPrivateKey } from 'node:crypto';
import { JweKeyUnwrapper } from '../../src/adapters/ocicrypt/jwe-key-unwrapper.js';
import { createImageApi, type KeyUnwrapper } from '../../src/app/embed.js';
import { ImageProxy } from '../../src/client/index.js';
import { type Digest, digestHex } from '../../src/domain/digest.js';
import { cargoTest, runExample, rustToolchainMissing } from '../client/rust-cargo.js';
import { requireTool } from './e2e-images.js';
import { EXE, ensureExecutables } from '../support/executables.js';
import { ociBlobPath } from '../support/image-fixtures.js';
import { run } from '../support/registry/processes.js';
import { useRegistry } from '../support/registry/fixture.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../support/registry/skopeo.js';
import { CLI_PATH, type HttpAnswer, REPO_ROOT, spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';
import { assertSkopeo } from '../adapters/archive/archive-fixtures.js';

interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}
interface LayerAnswer {
  digest: Digest;
  size: number;
  mediaType: string;
  compression: string;
  diffID: Digest;
  encrypted?: boolean;
  decryptable?: boolean;
}

const PASSWORD = 'correct horse battery staple';
const sha256 = (bytes: Uint8Array): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
const jsonOf = <T>(answer: HttpAnswer): T => JSON.parse(answer.body.toString('utf8')) as T;

describe('end to end: encrypted layers (--decryption-key, ?decrypt=true), skopeo as the oracle', function () {
  this.timeout(120_000);
  let env: SkopeoEnvironment;
  let work = '';
  const proxies: ProxyProcess[] = [];
  const path = (name: string) => join(work, name);

  async function openssl(...args: string[]): Promise<void> {
    await run('openssl', args);
  }

  /** The layout's one manifest. */
  async function manifestOf(layout: string): Promise<Manifest> {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    return JSON.parse(await readFile(ociBlobPath(layout, index.manifests[0]!.digest), 'utf8')) as Manifest;
  }

  function proxy(...args: string[]): ProxyProcess {
    return proxyRunning([process.execPath, CLI_PATH], ...args);
  }

  function proxyRunning(command: readonly string[], ...args: string[]): ProxyProcess {
    const started = spawnProxy(args, { command });
    proxies.push(started);
    return started;
  }

  before(async function () {
    assertSkopeo();
    env = makeSkopeoEnvironment();
    work = await mkdtemp(join(tmpdir(), 'encrypted-layers-'));
    // Keys as users make them: openssl's RSA (PKCS#8 PEM), EC (SEC 1 PEM and DER; skopeo 1.9.3
    // reads EC keys only as PKCS#8 PEM), a legacy password-protected RSA key, a PKCS#7 recipient.
    await openssl('genrsa', '-out', path('rsa.pem'), '2048');
    await openssl('rsa', '-in', path('rsa.pem'), '-pubout', '-out', path('rsa.pub'));
    await openssl('genrsa', '-out', path('other.pem'), '2048');
    await openssl('ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', path('ec.pem'));
    await openssl('ec', '-in', path('ec.pem'), '-pubout', '-out', path('ec.pub'));
    await openssl('ec', '-in', path('ec.pem'), '-outform', 'DER', '-out', path('ec.der'));
    await openssl('genrsa', '-aes256', '-traditional', '-passout', `pass:${PASSWORD}`, '-out', path('protected.pem'), '2048');
    await openssl('rsa', '-in', path('protected.pem'), '-passin', `pass:${PASSWORD}`, '-pubout', '-out', path('protected.pub'));
    await openssl('rsa', '-in', path('protected.pem'), '-passin', `pass:${PASSWORD}`, '-out', path('protected-open.pem'));
    await writeFile(path('password'), PASSWORD);
    // The same protected key as PKCS#8 (what OpenSSL 3 writes by default), and the RSA key as a JWK.
    await openssl('pkcs8', '-topk8', '-v2', 'aes256', '-in', path('protected-open.pem'), '-passout', `pass:${PASSWORD}`, '-out', path('protected-pkcs8.pem'));
    await writeFile(path('rsa.jwk'), JSON.stringify(createPrivateKey(await readFile(path('rsa.pem'))).export({ format: 'jwk' })));
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path('pkcs7.pem'),
      '-out',
      path('pkcs7.crt'),
      '-subj',
      '/CN=layer recipient',
      '-days',
      '2',
    );
    // An OpenPGP key with an encryption subkey, in a private keyring skopeo finds through GNUPGHOME.
    const gnupg = path('gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    const gpgEnv = { ...process.env, GNUPGHOME: gnupg };
    await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Layer Recipient <layers@example.com>', 'rsa2048', 'sign', 'never'], { env: gpgEnv });
    const fingerprint = /^fpr:+([0-9A-F]+):/m.exec((await run('gpg', ['--list-keys', '--with-colons'], { env: gpgEnv })).stdout)![1]!;
    await run('gpg', ['--batch', '--passphrase', '', '--quick-add-key', fingerprint, 'rsa2048', 'encr', 'never'], { env: gpgEnv });
    await writeFile(path('secret.gpg'), Buffer.from((await run('gpg', ['--export-secret-keys', '--armor'], { env: gpgEnv })).stdout));

    const source = `oci:${join(REPO_ROOT, 'examples/image')}:latest`;
    const withGpg = { ...env, env: { ...env.env, GNUPGHOME: gnupg } };
    await skopeo(env, [
      'copy',
      '--quiet',
      '--encryption-key',
      `jwe:${path('rsa.pub')}`,
      '--encryption-key',
      `jwe:${path('ec.pub')}`,
      source,
      `oci:${path('jwe')}:enc`,
    ]);
    await skopeo(env, ['copy', '--quiet', '--encryption-key', `jwe:${path('protected.pub')}`, source, `oci:${path('protected')}:enc`]);
    await skopeo(env, ['copy', '--quiet', '--encryption-key', `pkcs7:${path('pkcs7.crt')}`, source, `oci:${path('pkcs7')}:enc`]);
    await skopeo(withGpg, ['copy', '--quiet', '--encryption-key', 'pgp:layers@example.com', source, `oci:${path('pgp')}:enc`]);
    // The oracle: what skopeo decrypts them to (skopeo 1.9.3 takes no KEY:PASSWORD, so the
    // protected key's open copy stands in; it wants the PKCS#7 recipient's certificate too).
    await run('gpg', ['--export-secret-keys', '--output', path('secret-binary.gpg')], { env: gpgEnv });
    for (const [layout, keys] of [
      ['jwe', [path('rsa.pem')]],
      ['protected', [path('protected-open.pem')]],
      ['pkcs7', [path('pkcs7.pem'), path('pkcs7.crt')]],
      ['pgp', [path('secret-binary.gpg')]],
    ] as const) {
      await skopeo(env, [
        'copy',
        '--quiet',
        ...keys.flatMap((key) => ['--decryption-key', key]),
        `oci:${path(layout)}:enc`,
        `oci:${path(`${layout}-oracle`)}:plain`,
      ]);
    }
  });

  after(async function () {
    await Promise.all(proxies.map((started) => started.dispose()));
    // gpg and skopeo's gpg started an agent for the private GNUPGHOME; it would outlive the suite.
    if (work !== '') await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: path('gnupg') } }).catch(() => undefined);
    env?.cleanup();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  const cases: readonly (readonly [string, string, () => string[]])[] = [
    ['JWE, RSA key (PEM)', 'jwe', () => [path('rsa.pem')]],
    ['JWE, EC key (SEC 1 PEM)', 'jwe', () => [path('ec.pem')]],
    ['JWE, EC key (DER)', 'jwe', () => [path('ec.der')]],
    ['JWE, RSA key (JWK)', 'jwe', () => [path('rsa.jwk')]],
    ['JWE, a wrong key before the right one', 'jwe', () => [path('other.pem'), path('rsa.pem')]],
    ['JWE, password-protected PKCS#8 key (ENCRYPTED PRIVATE KEY)', 'protected', () => [`${path('protected-pkcs8.pem')}:pass=${PASSWORD}`]],
    ['JWE, password-protected key as KEY:PASSWORD', 'protected', () => [`${path('protected.pem')}:${PASSWORD}`]],
    ['JWE, password-protected key as KEY:file=PASSWORD_FILE', 'protected', () => [`${path('protected.pem')}:file=${path('password')}`]],
    ['PKCS#7, RSA key and certificate', 'pkcs7', () => [path('pkcs7.pem'), path('pkcs7.crt')]],
    ['OpenPGP secret key (armored)', 'pgp', () => [path('secret.gpg')]],
  ];
  for (const [name, layout, keys] of cases) {
    it(`${name}: ?decrypt=true serves what skopeo decrypts, ?decompress=true the diff IDs, plain GET the stored bytes`, async function () {
      const served = proxy('--insecure-policy', ...keys().flatMap((key) => ['--decryption-key', key]), `oci:${path(layout)}:enc`);
      const encrypted = await manifestOf(path(layout));
      const oracle = await manifestOf(path(`${layout}-oracle`));
      const layers = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
      expect(layers.map((layer) => [layer.digest, layer.encrypted, layer.decryptable, layer.compression])).to.deep.equal(
        encrypted.layers.map((layer) => [layer.digest, true, true, 'gzip']),
      );
      for (const [i, layer] of layers.entries()) {
        const plain = await served.request('GET', `/blobs/${layer.digest}?decrypt=true`);
        expect([plain.status, plain.complete, plain.headers['content-length']], served.stderr()).to.deep.equal([200, true, String(oracle.layers[i]!.size)]);
        expect(plain.body.equals(await readFile(ociBlobPath(path(`${layout}-oracle`), oracle.layers[i]!.digest))), `layer ${i} as skopeo decrypts it`).to.equal(
          true,
        );
        const tar = await served.request('GET', `/blobs/${layer.digest}?decompress=true`);
        expect([tar.status, tar.complete, sha256(tar.body)], served.stderr()).to.deep.equal([200, true, layer.diffID]);
        const stored = await served.request('GET', `/blobs/${layer.digest}`);
        expect([stored.complete, sha256(stored.body)]).to.deep.equal([true, layer.digest]);
      }
    });
  }

  it('the TypeScript client: layers() marks encrypted layers, blob(digest, { decrypt: true }) gives the plaintext, decompressedLayer() the tar', async function () {
    const client = await ImageProxy.spawn({
      image: `oci:${path('jwe')}:enc`,
      args: ['--insecure-policy', '--decryption-key', path('ec.pem')],
      stderr: 'ignore',
    });
    const read = async (stream: Readable) => Buffer.concat((await stream.toArray()) as Buffer[]);
    try {
      const oracle = await manifestOf(path('jwe-oracle'));
      for (const [i, layer] of (await client.layers()).entries()) {
        expect([layer.encrypted, layer.decryptable]).to.deep.equal([true, true]);
        const plain = await read(await client.blob(layer.digest, { decrypt: true }));
        expect(plain.equals(await readFile(ociBlobPath(path('jwe-oracle'), oracle.layers[i]!.digest)))).to.equal(true);
        expect(sha256(await read(await client.decompressedLayer(layer.digest)))).to.equal(layer.diffID);
        expect(sha256(await read(await client.blob(layer.digest)))).to.equal(layer.digest);
      }
    } finally {
      await client.kill();
    }
  });

  it('the Python client: layers() marks encrypted layers, blob(digest, decrypt=True) gives the plaintext', async function () {
    const script = [
      'import hashlib, json, sys',
      'from container_image_proxy import ImageProxy',
      'with ImageProxy.spawn(sys.argv[3], args=sys.argv[4:], command=sys.argv[1:3]) as proxy:',
      '    answers = []',
      '    for layer in proxy.layers():',
      '        with proxy.blob(layer["digest"], decrypt=True) as body:',
      '            answers.append([layer["encrypted"], layer["decryptable"], "sha256:" + hashlib.sha256(body.read()).hexdigest()])',
      '    print(json.dumps(answers))',
    ].join('\n');
    const { stdout } = await run(
      'python3',
      ['-c', script, process.execPath, CLI_PATH, `oci:${path('jwe')}:enc`, '--insecure-policy', '--decryption-key', path('rsa.pem')],
      { env: { ...process.env, PYTHONPATH: join(REPO_ROOT, 'clients/python') } },
    );
    const oracle = await manifestOf(path('jwe-oracle'));
    expect(JSON.parse(stdout)).to.deep.equal(oracle.layers.map((layer) => [true, true, layer.digest]));
  });

  it('the Rust client: the fetch example saves each encrypted layer decrypted (decrypted_blob) and uncompressed', async function () {
    this.timeout(20 * 60_000); // a first build compiles hyper and tokio; the Rust suite before this one has built them
    const missing = rustToolchainMissing();
    requireTool(this, missing === undefined, missing ?? '');
    const built = await cargoTest();
    expect(built.code, built.stderr.slice(-2000)).to.equal(0);
    const out = path('rust-fetch');
    const fetched = await runExample('fetch', [`oci:${path('jwe')}:enc`, out, '--insecure-policy', '--decryption-key', path('rsa.pem')]);
    expect(fetched.code, fetched.stdout + fetched.stderr).to.equal(0);
    const summary = (JSON.parse(fetched.stdout) as { fetched: { layers: LayerAnswer[]; decrypted: unknown[]; uncompressed: { diffID: string }[] } }).fetched;
    const encrypted = await manifestOf(path('jwe'));
    const oracle = await manifestOf(path('jwe-oracle'));
    expect(summary.decrypted).to.have.length(encrypted.layers.length);
    expect(
      summary.layers.map((layer) => [layer.digest, layer.encrypted, layer.decryptable]),
      'Layer.encrypted and Layer.decryptable',
    ).to.deep.equal(encrypted.layers.map((layer) => [layer.digest, true, true]));
    for (const [i, layer] of encrypted.layers.entries()) {
      expect(sha256(await readFile(join(out, 'decrypted', 'sha256', digestHex(layer.digest)))), `layer ${i} decrypted`).to.equal(oracle.layers[i]!.digest);
    }
    expect(summary.uncompressed.map((entry) => entry.diffID)).to.deep.equal(summary.layers.map((layer) => layer.diffID));
  });

  it('embedding: a KeyUnwrapper of the embedding program replaces the --decryption-key ones', async function () {
    const jwe = new JweKeyUnwrapper([createPrivateKey(await readFile(path('rsa.pem')))]);
    const offered: string[] = [];
    const own: KeyUnwrapper = { scheme: 'jwe', unwrap: (wrapped) => (offered.push('jwe'), jwe.unwrap(wrapped)) };
    const options = { platform: {}, insecurePolicy: true, env: {}, homeDir: work, cwd: work };
    const api = await createImageApi(options, { keyUnwrappers: [own] });
    const image = `oci:${path('jwe')}:enc`;
    const oracle = await manifestOf(path('jwe-oracle'));
    const [layer] = await api.layers(image);
    expect(layer!.decryptable).to.equal(true);
    const { stream } = await api.blob(image, layer!.digest, { decrypt: true });
    expect(Buffer.concat((await stream.toArray()) as Buffer[]).equals(await readFile(ociBlobPath(path('jwe-oracle'), oracle.layers[0]!.digest)))).to.equal(
      true,
    );
    expect(offered.length).to.be.greaterThan(0);
  });

  it('the single executable: jose and openpgp, side bundles of its own, open JWE and OpenPGP keys', async function () {
    this.timeout(600_000); // builds the executables when run alone; `npm test` has built them
    ensureExecutables();
    for (const [layout, key] of [
      ['jwe', path('ec.pem')],
      ['pgp', path('secret.gpg')],
    ] as const) {
      const served = proxyRunning([EXE], '--insecure-policy', '--decryption-key', key, `oci:${path(layout)}:enc`);
      const oracle = await manifestOf(path(`${layout}-oracle`));
      const layers = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
      for (const [i, layer] of layers.entries()) {
        const plain = await served.request('GET', `/blobs/${layer.digest}?decrypt=true`);
        expect([plain.complete, sha256(plain.body)], served.stderr()).to.deep.equal([true, oracle.layers[i]!.digest]);
      }
    }
  });

  it('a password read from an inherited file descriptor (KEY:fd=N), never from argv', async function () {
    // The parent opens the password file as fd 5 of the proxy, as a program keeping it off argv would.
    const launch = ['bash', '-c', `exec "$0" "$1" "\${@:2}" 5<"${path('password')}"`, process.execPath, CLI_PATH];
    const served = proxyRunning(launch, '--insecure-policy', '--decryption-key', `${path('protected.pem')}:fd=5`, `oci:${path('protected')}:enc`);
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect([layer!.encrypted, layer!.decryptable], served.stderr()).to.deep.equal([true, true]);
    const plain = await served.request('GET', `/blobs/${layer!.digest}?decrypt=true`);
    expect([plain.complete, sha256(plain.body)]).to.deep.equal([true, (await manifestOf(path('protected-oracle'))).layers[0]!.digest]);
  });

  it('a password from a pipe the parent keeps open (KEY:fd=N) is one read, as ocicrypt reads it; a pipe nothing is written to stops the start', async function () {
    // fd 5 is a FIFO opened read-write, so a writer stays open for good: waiting for its end would never start.
    await run('mkfifo', [path('password.fifo')]);
    const launch = (write: string) => ['bash', '-c', `exec 5<>"${path('password.fifo')}"; ${write} exec "$0" "$1" "\${@:2}"`, process.execPath, CLI_PATH];
    const served = proxyRunning(
      launch(`cat "${path('password')}" >&5;`),
      '--insecure-policy',
      '--decryption-key',
      `${path('protected.pem')}:fd=5`,
      `oci:${path('protected')}:enc`,
    );
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect([layer!.encrypted, layer!.decryptable], served.stderr()).to.deep.equal([true, true]);

    const silent = proxyRunning(launch(''), '--insecure-policy', '--decryption-key', `${path('protected.pem')}:fd=5`, `oci:${path('protected')}:enc`);
    expect((await silent.exited).code, silent.stderr()).to.equal(2);
    expect(silent.stderr()).to.contain(
      `--decryption-key ${path('protected.pem')}: cannot read the password from file descriptor 5 (nothing was written to it within 5 s)`,
    );
  });

  it('a key that opens no layer: /layers says so, ?decrypt=true and ?decompress=true answer no-decryption-key, the stored bytes are still served', async function () {
    const served = proxy('--insecure-policy', '--decryption-key', path('other.pem'), '--decryption-key', path('pkcs7.pem'), `oci:${path('jwe')}:enc`);
    const layers = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect(layers.map((layer) => [layer.encrypted, layer.decryptable])).to.deep.equal(layers.map(() => [true, false]));
    const digest = layers[0]!.digest;
    for (const query of ['decrypt=true', 'decompress=true']) {
      const refused = await served.request('GET', `/blobs/${digest}?${query}`);
      expect([refused.status, jsonOf<{ code: string; message: string }>(refused).code]).to.deep.equal([403, 'no-decryption-key']);
      expect(jsonOf<{ message: string }>(refused).message).to.contain('none of the --decryption-key keys opens it');
    }
    expect(sha256((await served.request('GET', `/blobs/${digest}`)).body)).to.equal(digest);
    expect(served.child.exitCode).to.equal(null);
  });

  it('no --decryption-key: an encrypted layer is served only as stored', async function () {
    const served = proxy('--insecure-policy', `oci:${path('jwe')}:enc`);
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect([layer!.encrypted, layer!.decryptable]).to.deep.equal([true, false]);
    const refused = await served.request('GET', `/blobs/${layer!.digest}?decrypt=true`);
    expect([refused.status, jsonOf<{ code: string }>(refused).code]).to.deep.equal([403, 'no-decryption-key']);
    expect(jsonOf<{ message: string }>(refused).message).to.contain('no --decryption-key was given');
  });

  it('a layer that is not encrypted: ?decrypt=true serves it as stored', async function () {
    const plain = await manifestOf(path('jwe-oracle'));
    const served = proxy('--insecure-policy', '--decryption-key', path('rsa.pem'), `oci:${path('jwe-oracle')}:plain`);
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect(layer!.encrypted).to.equal(undefined);
    const answer = await served.request('GET', `/blobs/${plain.layers[0]!.digest}?decrypt=true`);
    expect([answer.complete, sha256(answer.body)]).to.deep.equal([true, plain.layers[0]!.digest]);
  });

  /** A copy of the JWE layout whose first layer descriptor (and blob) `alter` changes; the manifest and index follow. */
  async function alteredLayout(name: string, alter: (layer: Descriptor, blob: Buffer) => Promise<void> | void): Promise<string> {
    const layout = path(name);
    await run('cp', ['-a', path('jwe'), layout]);
    const manifest = await manifestOf(layout);
    const layer = manifest.layers[0]!;
    const blob = await readFile(ociBlobPath(layout, layer.digest));
    await alter(layer, blob);
    await writeFile(ociBlobPath(layout, layer.digest), blob);
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await writeFile(join(layout, 'blobs', 'sha256', digestHex(sha256(manifestBytes))), manifestBytes);
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifestBytes),
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'enc' },
        },
      ],
    };
    await writeFile(join(layout, 'index.json'), JSON.stringify(index));
    return layout;
  }

  it('an HMAC that does not match the ciphertext: the stored bytes are served, the plaintext never completely', async function () {
    const layout = await alteredLayout('altered-hmac', (layer) => {
      const name = 'org.opencontainers.image.enc.pubopts';
      const options = JSON.parse(Buffer.from(layer.annotations![name]!, 'base64').toString('utf8')) as { hmac: string };
      const hmac = Buffer.from(options.hmac, 'base64');
      hmac[0]! ^= 1;
      options.hmac = hmac.toString('base64');
      layer.annotations![name] = Buffer.from(JSON.stringify(options)).toString('base64');
    });
    const served = proxy('--insecure-policy', '--decryption-key', path('rsa.pem'), `oci:${layout}:enc`);
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    expect(sha256((await served.request('GET', `/blobs/${layer!.digest}`)).body)).to.equal(layer!.digest);
    const cut = await served.request('GET', `/blobs/${layer!.digest}?decrypt=true`);
    expect([cut.status, cut.complete]).to.deep.equal([200, false]);
    expect(cut.body.length).to.be.lessThan(layer!.size);
    expect((await served.exited).code).to.equal(1);
    expect(served.stderr()).to.contain('decryption-failed').and.contain('does not match its HMAC');
  });

  it('altered ciphertext (the descriptor updated to match): ?decompress=true never answers with its tar', async function () {
    const layout = await alteredLayout('altered-ciphertext', (layer, blob) => {
      blob[blob.length - 1]! ^= 1;
      layer.digest = sha256(blob);
    });
    const served = proxy('--insecure-policy', '--decryption-key', path('ec.pem'), `oci:${layout}:enc`);
    const [layer] = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
    const answer = await served.request('GET', `/blobs/${layer!.digest}?decompress=true`).catch((err: Error) => err);
    // The layer is small enough to fail before its first byte: no answer at all, the connection cut.
    if (!(answer instanceof Error)) expect(answer.complete).to.equal(false);
    expect((await served.exited).code).to.equal(1);
    expect(served.stderr()).to.contain('does not match its HMAC');
  });

  it('the signature policy applies to the encrypted image, keys or not', async function () {
    const policy = path('reject.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'reject' }] }));
    const served = proxy('--policy', policy, '--decryption-key', path('rsa.pem'), `oci:${path('jwe')}:enc`);
    const { layers } = await manifestOf(path('jwe'));
    const refused = await served.request('GET', `/blobs/${layers[0]!.digest}?decrypt=true`);
    expect([refused.status, jsonOf<{ code: string }>(refused).code]).to.deep.equal([403, 'policy-rejected']);
  });

  describe('through a real registry (docker://)', function () {
    const registry = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-encrypted-layers' });
    before(async function () {
      await skopeo(env, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${path('jwe')}:enc`, `docker://${registry.host}/encrypted/jwe:v1`]);
    });

    it('an image skopeo pushed encrypted: /layers, ?decrypt=true and ?decompress=true as from the layout', async function () {
      const served = proxy('--insecure-policy', '--tls-verify=false', '--decryption-key', path('ec.der'), `docker://${registry.host}/encrypted/jwe:v1`);
      const encrypted = await manifestOf(path('jwe'));
      const oracle = await manifestOf(path('jwe-oracle'));
      const layers = jsonOf<LayerAnswer[]>(await served.request('GET', '/layers'));
      expect(layers.map((layer) => [layer.digest, layer.encrypted, layer.decryptable])).to.deep.equal(
        encrypted.layers.map((layer) => [layer.digest, true, true]),
      );
      for (const [i, layer] of layers.entries()) {
        const plain = await served.request('GET', `/blobs/${layer.digest}?decrypt=true`);
        expect([plain.complete, sha256(plain.body)], served.stderr()).to.deep.equal([true, oracle.layers[i]!.digest]);
        const tar = await served.request('GET', `/blobs/${layer.digest}?decompress=true`);
        expect([tar.complete, sha256(tar.body)], served.stderr()).to.deep.equal([true, layer.diffID]);
      }
    });
  });

  describe('key files that cannot be used stop the start with a usage error naming the file', function () {
    for (const [name, key, expected] of [
      ['a missing file', () => path('no-such-key.pem'), 'no-such-key.pem: no such file'],
      ['a directory', () => path('gnupg'), 'gnupg: cannot read'],
      ['a public key', () => path('rsa.pub'), 'rsa.pub: a public key; decrypting needs the private key'],
      ['a file that is no key', () => path('password'), 'password: not a private key (PEM, DER or JWK), an X.509 certificate or an OpenPGP secret key'],
      ['a malformed PEM key', () => path('malformed.pem'), 'malformed.pem: a malformed private key'],
      ['a password-protected key without its password', () => path('protected.pem'), 'protected.pem: the private key is protected by a password'],
      ['a password-protected key with a wrong password', () => `${path('protected.pem')}:Tr0ub4dor&3`, 'protected.pem: wrong password for the private key'],
      [
        'a password file descriptor that is not open',
        () => `${path('protected.pem')}:fd=999`,
        'protected.pem: cannot read the password from file descriptor 999 (EBADF)',
      ],
      ['a password file that does not exist', () => `${path('protected.pem')}:file=${path('no-such-password')}`, 'protected.pem: password file'],
    ] as const) {
      it(name, async function () {
        await writeFile(path('malformed.pem'), '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
        const started = proxy('--insecure-policy', '--decryption-key', path('rsa.pem'), '--decryption-key', key(), `oci:${path('jwe')}:enc`);
        expect((await started.exited).code, started.stderr()).to.equal(2);
        expect(started.stderr()).to.contain(`--decryption-key ${work}/${expected}`);
        expect(started.stderr(), 'the password is never repeated').to.not.contain('Tr0ub4dor');
      });
    }
  });
});
