/**
 * The single executables (`npm run build:exe` → dist/exe/container-image-proxy for this machine,
 * and container-image-proxy-linux-arm64, run here under qemu-user) on a host with no Node.js:
 * every run has a PATH that holds no `node` (the machine's own /usr/bin/node would otherwise
 * hide a runtime an executable failed to carry). Parents as users write them: the shipped
 * Python client fetching an OCI layout and a docker:// image from a real registry.
 */
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { requireRegistryTools } from '../support/registry/install.js';
import { makeTempDir, removeTempDir } from '../support/registry/processes.js';
import { RawPusher } from '../support/registry/push.js';
import { startRegistry, type RunningRegistry } from '../support/registry/registry-server.js';
import { standardFixtures } from '../support/image-fixtures.js';
import { EXE, EXE_ARM64, ensureExecutables } from '../support/executables.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { type E2eImages, requireTool, writeE2eImages } from './e2e-images.js';
import { dockerReference } from './registry/proxy-session.js';
import { gpgAgentCleanup, gpgHome, type GpgHome, lookasideDir } from './signatures/gpg.js';

const QEMU = '/usr/bin/qemu-aarch64';
/** Where Debian's libc6-arm64-cross and libstdc++6-arm64-cross put the arm64 loader and libraries. */
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const run = promisify(execFile);
// The interpreter itself, not a shim (pyenv's are shell scripts that need a full PATH).
const python3 = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() ?? '';

interface Fetched {
  readonly instance_digest: string;
  readonly blobs: readonly { digest: string; sha256: string; size: number }[];
  readonly errors: readonly { code: string }[];
  readonly exit: number;
}

interface Target {
  readonly name: string;
  /** The command that runs the executable: itself, or qemu-user for another architecture. */
  readonly command: readonly string[];
  /** Whether this machine can run it (qemu-user and the arm64 libraries are apt packages). */
  readonly runnable: () => boolean;
  readonly tool: string;
}

const TARGETS: readonly Target[] = [
  { name: 'linux-x64', command: [EXE], runnable: () => true, tool: '' },
  {
    name: 'linux-arm64 under qemu-user',
    command: [QEMU, '-L', ARM64_SYSROOT, EXE_ARM64],
    runnable: () => existsSync(QEMU) && existsSync(join(ARM64_SYSROOT, 'lib/ld-linux-aarch64.so.1')),
    tool: 'qemu-aarch64 with the arm64 libraries (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)',
  },
];

describe('end to end: the single executables with no Node.js on PATH', function () {
  this.timeout(120_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let images: E2eImages;
  let registry: RunningRegistry | undefined;
  let dockerImage: string;
  const dockerFixture = standardFixtures().dockerSingle;
  let signing: Promise<SignedImageKeys> | undefined;
  let gpg: GpgHome | undefined;

  before(async function () {
    this.timeout(120_000);
    ensureExecutables();
    dir = makeTempDir('e2e-executable');
    // An empty directory as the whole PATH, and a home of its own (no auth.json of the machine).
    env = { PATH: join(dir, 'bin'), HOME: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: join(dir, '.config') };
    mkdirSync(join(dir, 'bin'));
    images = await writeE2eImages();
  });
  after(async () => {
    if (gpg) await gpgAgentCleanup(gpg);
    await registry?.stop();
    await images?.cleanup();
    if (dir) removeTempDir(dir);
  });

  /** One registry for every target, holding a docker schema2 image. */
  async function pushedDockerImage(context: Mocha.Context): Promise<string> {
    requireRegistryTools(context);
    if (registry === undefined) {
      registry = await startRegistry({ kind: 'anonymous' });
      const pusher = new RawPusher(registry);
      try {
        await pusher.pushArtifact('exe/image', 'v1', dockerFixture);
      } finally {
        await pusher.close();
      }
      dockerImage = dockerReference(registry.host, 'exe/image', 'v1');
    }
    return dockerImage;
  }

  it('finds no node on the PATH it runs with', () => {
    expect(spawnSync('sh', ['-c', 'command -v node'], { env }).status).to.not.equal(0);
  });

  for (const target of TARGETS) {
    describe(target.name, () => {
      beforeEach(function () {
        requireTool(this, target.runnable(), target.tool);
      });

      it('--version and --help', async () => {
        const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
        const [program, ...leading] = target.command;
        const versionRun = await run(program!, [...leading, '--version'], { env });
        expect([versionRun.stdout, versionRun.stderr]).to.deep.equal([`container-image-proxy version ${version}\n`, '']);
        const help = await run(program!, [...leading, '--help'], { env });
        expect(help.stdout).to.match(/^Usage: container-image-proxy \[OPTIONS\] \[IMAGE\]/);
        expect(help.stdout).to.contain('--sockfd');
      });

      // Node reads a compile cache for an executable's main script from $NODE_COMPILE_CACHE,
      // unchecked, unless the script carries a code cache of its own (scripts/build-exe.mjs).
      it('reads and writes no cache in a $NODE_COMPILE_CACHE owned by nobody, of mode 0777 (Node makes only its empty version directory), and answers', async () => {
        const cache = join(dir, `node-cache-${target.name.replace(/\W+/g, '-')}`);
        mkdirSync(cache, { mode: 0o777 });
        chmodSync(cache, 0o777);
        chownSync(cache, 65534, 65534);
        const [program, ...leading] = target.command;
        const versionRun = await run(program!, [...leading, '--version'], { env: { ...env, NODE_COMPILE_CACHE: cache } });
        expect(versionRun.stderr).to.equal('');
        const made = readdirSync(cache);
        expect(made).to.have.length(1);
        expect(made[0]).to.match(/^v\d+\.\d+\.\d+-(x64|arm64)-/);
        expect(readdirSync(join(cache, made[0]!))).to.deep.equal([]);
      });

      /** The shipped Python client, spawning the executable as its command. */
      function runPythonFetch(context: Mocha.Context, image: string, args: readonly string[]): SpawnSyncReturns<string> {
        requireTool(context, python3 !== '', 'python3');
        const spec = { scenario: 'fetch', command: target.command, cwd: dir, args: ['-q', ...args], image, bad_digests: [`sha256:${'0'.repeat(64)}`] };
        return spawnSync(python3, [join(REPO_ROOT, 'test/client/python_client_check.py'), join(REPO_ROOT, 'clients/python'), JSON.stringify(spec)], {
          encoding: 'utf8',
          env,
          timeout: 90_000,
        });
      }

      function fetchWithPython(context: Mocha.Context, image: string, args: readonly string[]): Fetched {
        const answer = runPythonFetch(context, image, args);
        expect(answer.status, answer.stderr).to.equal(0);
        return JSON.parse(answer.stdout) as Fetched;
      }

      it('serves an OCI layout to the Python client: every blob verified, a missing one is blob-not-found', function () {
        const fixture = images.fixtures.ociSingle;
        const out = fetchWithPython(this, `oci:${images.layout}:single`, ['--insecure-policy']);
        expect(out.instance_digest).to.equal(fixture.manifest.digest);
        expect(out.blobs.map((blob) => blob.sha256)).to.deep.equal([fixture.config, ...fixture.layers].map((blob) => blob.digest));
        expect([out.errors.map((error) => error.code), out.exit]).to.deep.equal([['blob-not-found'], 0]);
      });

      it('serves a docker:// image from a real registry to the Python client', async function () {
        const out = fetchWithPython(this, await pushedDockerImage(this), ['--insecure-policy', '--tls-verify=false']);
        expect(out.instance_digest).to.equal(dockerFixture.manifest.digest);
        expect(out.blobs.map((blob) => blob.sha256)).to.deep.equal([dockerFixture.config, ...dockerFixture.layers].map((blob) => blob.digest));
        expect([out.errors.map((error) => error.code), out.exit]).to.deep.equal([['blob-not-found'], 0]);
      });

      // openpgp and yaml are side bundles, assets of the executable read on first use
      // (scripts/esbuild-plugins.mjs): a signedBy policy with registries.d lookaside needs both.
      it('judges GPG signatures (openpgp) found through registries.d (yaml): trusted key accepted, another refused', async function () {
        const image = await pushedDockerImage(this);
        const keys = await signedImageKeys(image);
        const signed = fetchWithPython(this, image, ['--tls-verify=false', '--policy', keys.trustedPolicy, '--registries.d', keys.registriesD]);
        expect([signed.instance_digest, signed.exit]).to.deep.equal([dockerFixture.manifest.digest, 0]);
        const refused = runPythonFetch(this, image, ['--tls-verify=false', '--policy', keys.strangerPolicy, '--registries.d', keys.registriesD]);
        expect(refused.status).to.not.equal(0);
        expect(refused.stderr).to.match(/policy-rejected/);
      });
    });
  }

  interface SignedImageKeys {
    readonly trustedPolicy: string;
    readonly strangerPolicy: string;
    readonly registriesD: string;
  }

  /** A simple-signing signature of the pushed image by one key, in file:// lookaside; policies trusting it and another key. */
  function signedImageKeys(image: string): Promise<SignedImageKeys> {
    signing ??= (async () => {
      const home = gpgHome(join(dir, 'gnupg'));
      gpg = home;
      const signer = await home.generate('Signer <signer@example.com>');
      const stranger = await home.generate('Stranger <stranger@example.com>');
      const reference = image.slice('docker://'.length);
      const [host, repository] = [registry!.host, 'exe/image'];
      const payload = join(dir, 'payload.json');
      const critical = {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': dockerFixture.manifest.digest },
        type: 'atomic container signature',
      };
      writeFileSync(payload, JSON.stringify({ critical, optional: {} }));
      const lookaside = join(dir, 'lookaside');
      const signatureDir = lookasideDir(lookaside, repository, dockerFixture.manifest.digest);
      mkdirSync(signatureDir, { recursive: true });
      await run('gpg', ['--batch', '--yes', '--local-user', signer, '--output', join(signatureDir, 'signature-1'), '--sign', payload], { env: home.env });
      const registriesD = join(dir, 'registries.d');
      mkdirSync(registriesD);
      writeFileSync(join(registriesD, 'exe.yaml'), `docker:\n  ${host}:\n    lookaside: file://${lookaside}\n`);
      const policyTrusting = async (fingerprint: string, name: string): Promise<string> => {
        const key = join(dir, `${name}.gpg`);
        await home.exportPublic(fingerprint, key);
        const policy = join(dir, `${name}-policy.json`);
        writeFileSync(
          policy,
          JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: key }] } } }),
        );
        return policy;
      };
      return { trustedPolicy: await policyTrusting(signer, 'signer'), strangerPolicy: await policyTrusting(stranger, 'stranger'), registriesD };
    })();
    return signing;
  }
});
