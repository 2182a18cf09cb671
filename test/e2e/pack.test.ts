/**
 * What users install is what is tested: `npm pack` the repository as it is built, install the
 * tarball into an empty project, and use it from there the way a user would: the CLI through
 * node_modules/.bin, the TypeScript client through `import 'container-image-proxy'`, the Python
 * client from the shipped clients/python.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { standardFixtures, writeOciLayout } from '../support/image-fixtures.js';
import { REPO_ROOT } from '../support/spawn-proxy.js';
import { requireTool } from './e2e-images.js';

const run = promisify(execFile);
const pythonAvailable = spawnSync('python3', ['--version']).status === 0;

/**
 * This Node first on PATH (the bin's `#!/usr/bin/env node` must not find an older system node),
 * and none of the npm_* variables of an enclosing `npm test`, which would point npm back at
 * this repository.
 */
function consumerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return { ...env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
}

/** The consumer: an ESM script that knows the package only by its name. */
const CONSUMER_SCRIPT = `
import { createHash } from 'node:crypto';
import { defaultCommand, ImageProxy, ImageProxyError } from 'container-image-proxy';

const [image, binCommand] = process.argv.slice(2);
const sessions = [];
for (const command of [undefined, [binCommand]]) {
  const proxy = await ImageProxy.spawn({ image, args: ['--insecure-policy'], command, stderr: 'ignore' });
  const answer = await proxy.manifest();
  const blobs = [];
  for (const layer of answer.manifest.layers) {
    const hash = createHash('sha256');
    for await (const chunk of await proxy.blob(layer.digest)) hash.update(chunk);
    blobs.push('sha256:' + hash.digest('hex'));
  }
  let missing;
  try {
    await proxy.blob('sha256:' + '0'.repeat(64));
  } catch (err) {
    missing = err instanceof ImageProxyError ? err.code : String(err);
  }
  const { version } = await proxy.version();
  await proxy.quit();
  sessions.push({ instanceDigest: answer.instanceDigest, layers: answer.manifest.layers.map((l) => l.digest), blobs, missing, version, exit: proxy.child.exitCode });
}
console.log(JSON.stringify({ defaultCommand: defaultCommand(), sessions }));
`;

/** Compiled, never run: the exported names and types are what a TypeScript user gets. */
const TYPED_CONSUMER = `
import { ImageProxy, ImageProxyError, PROXY_ERROR_CODES, type ImageProxyErrorCode, type LayerInfo, type ManifestAnswer } from 'container-image-proxy';
import { type Readable } from 'node:stream';

export async function use(): Promise<number> {
  const proxy: ImageProxy = await ImageProxy.spawn({ image: 'oci:/layout:tag', args: ['--insecure-policy'] });
  const answer: ManifestAnswer = await proxy.manifest();
  const layers: LayerInfo[] = await proxy.layers();
  const stream: Readable = await proxy.decompressedLayer(layers[0]?.digest ?? answer.manifest.layers[0]!.digest);
  stream.resume();
  await proxy.quit();
  return new ImageProxyError('bad-response', 0, 'y').status;
}

/** ImageProxyError.code is the union of the proxy's and the client's codes, not any string. */
export function codes(err: ImageProxyError): ImageProxyErrorCode[] {
  // @ts-expect-error 'x' is no code of the proxy or the client
  const unknown = new ImageProxyError('x', 0, 'y');
  return [err.code, unknown.code, ...PROXY_ERROR_CODES, 'cancelled', 'proxy-failed'];
}
`;

describe('end to end: the packed package installed into an empty project', function () {
  this.timeout(120000);
  let root: string;
  let project: string;
  let layout: string;
  let version: string;
  let shippedFiles: string[] = [];
  const fixture = standardFixtures().ociSingle;

  before(async function () {
    this.timeout(90000);
    root = await mkdtemp(join(tmpdir(), 'cip-pack-'));
    project = join(root, 'project');
    layout = join(root, 'layout');
    await mkdir(project);
    await writeOciLayout(layout, [{ artifact: fixture, name: 'single' }]);
    ({ version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string });
    const env = consumerEnv();
    const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: REPO_ROOT, env, timeout: 60000 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    shippedFiles = info!.files.map((file) => file.path);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'pack-test-consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(root, info!.filename)], { cwd: project, env, timeout: 60000 });
  });
  after(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('ships the CLI, the client with its types, the Python client, the README and the docs it links to, and no tests', () => {
    for (const path of [
      'package.json',
      'README.md',
      'docs/http-api.md',
      'dist/src/bin/container-image-proxy.cjs',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'clients/python/container_image_proxy.py',
    ]) {
      expect(shippedFiles, path).to.include(path);
    }
    expect(shippedFiles.filter((path) => path.startsWith('dist/test/') || path.includes('__pycache__'))).to.deep.equal([]);
  });

  it('ships the Apache-2.0 LICENSE package.json names, no source maps (their src/*.ts is not shipped), nothing beyond code, declarations, clients and docs', async () => {
    const installed = join(project, 'node_modules/container-image-proxy');
    const { license } = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { license: string };
    expect(license).to.equal('Apache-2.0');
    expect(await readFile(join(installed, 'LICENSE'), 'utf8')).to.match(/^\s*Apache License\s+Version 2\.0, January 2004\s/);
    expect(shippedFiles.filter((path) => path.endsWith('.map') || path.startsWith('src/'))).to.deep.equal([]);
    const needed = [
      /^(package\.json|README\.md|LICENSE)$/,
      /^docs\/[^/]+\.md$/,
      /^dist\/src\/.+\.(js|cjs|d\.ts)$/,
      /^clients\/(?!.*(__pycache__|\/target\/)).+$/,
    ];
    expect(shippedFiles.filter((path) => !needed.some((pattern) => pattern.test(path)))).to.deep.equal([]);
  });

  it('runs the installed CLI: --version', async () => {
    const bin = join(project, 'node_modules/.bin/container-image-proxy');
    const answer = await run(bin, ['--version'], { cwd: project, env: consumerEnv(), timeout: 20000 });
    expect(answer.stdout).to.equal(`container-image-proxy version ${version}\n`);
  });

  it("imports ImageProxy by the package's name and serves an OCI layout with the default command and node_modules/.bin", async () => {
    await writeFile(join(project, 'consumer.mjs'), CONSUMER_SCRIPT);
    const bin = join(project, 'node_modules/.bin/container-image-proxy');
    const answer = await run(process.execPath, ['consumer.mjs', `oci:${layout}:single`, bin], { cwd: project, env: consumerEnv(), timeout: 30000 });
    const out = JSON.parse(answer.stdout) as { defaultCommand: string[]; sessions: Record<string, unknown>[] };
    const installedBin = join(project, 'node_modules/container-image-proxy/dist/src/bin/container-image-proxy.cjs');
    expect([out.defaultCommand[0], out.defaultCommand.at(-1)]).to.deep.equal([process.execPath, installedBin]);
    const digests = fixture.layers.map((layer) => layer.digest);
    const expected = { instanceDigest: fixture.manifest.digest, layers: digests, blobs: digests, missing: 'blob-not-found', version, exit: 0 };
    expect(out.sessions).to.deep.equal([expected, expected]);
  });

  it("type-checks a TypeScript consumer against the package's declarations", async () => {
    await writeFile(join(project, 'consumer.ts'), TYPED_CONSUMER);
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023'];
    // The consumer has no @types/node of its own; the declarations need Node's types.
    const types = ['--typeRoots', join(REPO_ROOT, 'node_modules/@types'), '--types', 'node'];
    const answer = await run(process.execPath, [tsc, ...flags, ...types, 'consumer.ts'], { cwd: project, env: consumerEnv(), timeout: 60000 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }),
    );
    expect(answer.stdout).to.equal('');
  });

  it('runs the shipped Python client against the installed CLI', function () {
    requireTool(this, pythonAvailable, 'python3');
    const spec = {
      scenario: 'fetch',
      command: [join(project, 'node_modules/.bin/container-image-proxy')],
      cwd: project,
      args: ['--insecure-policy', '-q'],
      image: `oci:${layout}:single`,
      bad_digests: [`sha256:${'0'.repeat(64)}`],
    };
    const moduleDir = join(project, 'node_modules/container-image-proxy/clients/python');
    const answer = spawnSync('python3', [join(REPO_ROOT, 'test/client/python_client_check.py'), moduleDir, JSON.stringify(spec)], {
      encoding: 'utf8',
      env: consumerEnv(),
      timeout: 30000,
    });
    expect(answer.status, answer.stderr).to.equal(0);
    const out = JSON.parse(answer.stdout) as { instance_digest: string; blobs: { sha256: string }[]; errors: { code: string }[]; exit: number };
    expect(out.instance_digest).to.equal(fixture.manifest.digest);
    expect(out.blobs.map((blob) => blob.sha256)).to.deep.equal([fixture.config, ...fixture.layers].map((blob) => blob.digest));
    expect([out.errors.map((e) => e.code), out.exit]).to.deep.equal([['blob-not-found'], 0]);
  });
});
