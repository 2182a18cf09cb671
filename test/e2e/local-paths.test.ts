/**
 * Local paths may point at anything: through the real CLI, a FIFO, a device or a socket where a
 * layout, dir: image or archive expects a file is refused at once with `io` (never blocking a
 * threadpool worker, so other images keep being served), symbolic links count as what they
 * point to, and files are read within the size limits a registry's answers get.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { type Agent } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pack } from 'tar-stream';
import { digestHex } from '../../src/domain/digest.js';
import { MAX_MANIFEST_BYTES, MAX_TAR_INDEX_BYTES } from '../../src/domain/size-limits.js';
import { standardFixtures, writeDirImage, writeOciLayout } from '../support/image-fixtures.js';
import { agentOver, CLI_PATH, type HttpAnswer, httpRequest, spawnProxy, type ProxyProcess } from '../support/spawn-proxy.js';

interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

/** Generous for a loaded machine; a proxy stalled on a FIFO never answers at all. */
const PROMPT_MS = 10_000;

/** The answer, or a failure naming the request when none comes within `ms` (a stalled proxy). */
async function within<T>(ms: number, what: string, pending: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errorOf(answer: HttpAnswer): ErrorBody {
  return JSON.parse(answer.body.toString('utf8')) as ErrorBody;
}

/** The peak resident memory of a process, from /proc (Linux), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1]) * 1024;
}

/** A proxy serving small images peaks well below this; reading the files named below whole would not. */
const PEAK_RSS_BOUND = 256 * 1024 * 1024;

const imageQuery = (name: string): string => `/manifest?image=${encodeURIComponent(name)}`;

describe('end to end: local paths cannot stall or exhaust the proxy', function () {
  this.timeout(60_000);
  const { ociSingle, dockerSingle } = standardFixtures();
  let work: string;
  let layout: string;
  const proxies: ProxyProcess[] = [];
  const servers: Server[] = [];

  const proxy = (): ProxyProcess => {
    const started = spawnProxy(['--insecure-policy']);
    proxies.push(started);
    return started;
  };
  const mkfifo = (path: string): void => void execFileSync('mkfifo', [path]);
  /** A copy of the good layout whose `relative` file is replaced by what `make` puts there. */
  const layoutWith = async (name: string, relative: string, make: (path: string) => Promise<void> | void): Promise<string> => {
    const dir = join(work, name);
    await writeOciLayout(dir, [{ artifact: ociSingle, name: 'single' }]);
    await unlink(join(dir, relative));
    await make(join(dir, relative));
    return dir;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'local-paths-e2e-'));
    layout = join(work, 'good');
    await writeOciLayout(layout, [{ artifact: ociSingle, name: 'single' }]);
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.dispose()));
  });
  after(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** One request for `image`, which must be refused promptly with `io` naming what the file is. */
  async function expectRefused(image: string, kind: string, path = imageQuery(image)): Promise<ErrorBody> {
    const started = proxy();
    const answer = await within(PROMPT_MS, `GET ${path}`, started.request('GET', path));
    expect(answer.status, answer.body.toString()).to.equal(500);
    const body = errorOf(answer);
    expect(body.code, body.message).to.equal('io');
    expect(body.message).to.include(kind).and.include('only regular files are read');
    // The session goes on: the good layout is still served by the same process.
    const good = await within(PROMPT_MS, 'the good layout after the refusal', started.request('GET', imageQuery(`oci:${layout}:single`)));
    expect(good.status, good.body.toString()).to.equal(200);
    return body;
  }

  it('FIFOs as index.json on four connections at once: each is refused with io, and a fifth image is served promptly', async () => {
    const fifoLayouts = await Promise.all([0, 1, 2, 3].map((i) => layoutWith(`fifo-${i}`, 'index.json', mkfifo)));
    // Five socketpairs to one proxy: the FIFO requests all wait at once, as four clients would.
    const fds = [3, 4, 5, 6, 7];
    const child = spawn(process.execPath, [CLI_PATH, ...fds.flatMap((fd) => ['--sockfd', String(fd)]), '--insecure-policy'], {
      stdio: ['ignore', 'ignore', 'pipe', ...fds.map(() => 'pipe' as const)],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const agents: Agent[] = fds.map((fd) => agentOver(child.stdio[fd] as Socket));
    try {
      // Started and serving before the FIFOs are asked for, so only the stall is timed below.
      expect((await within(PROMPT_MS, 'GET /version', httpRequest(agents[4]!, 'GET', '/version'))).status).to.equal(200);
      const stalled = fifoLayouts.map((dir, i) => httpRequest(agents[i]!, 'GET', imageQuery(`oci:${dir}`)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const other = await within(
        PROMPT_MS,
        'another image while the FIFOs wait for a writer',
        httpRequest(agents[4]!, 'GET', imageQuery(`oci:${layout}:single`)),
      );
      expect(other.status, other.body.toString()).to.equal(200);
      expect(other.headers['instance-digest']).to.equal(ociSingle.manifest.digest);
      const refused = await within(PROMPT_MS, 'the FIFO requests', Promise.all(stalled));
      for (const [i, answer] of refused.entries()) {
        const body = errorOf(answer);
        expect([answer.status, body.code], body.message).to.deep.equal([500, 'io']);
        expect(body.message).to.include(join(fifoLayouts[i]!, 'index.json')).and.include('a FIFO');
      }
    } finally {
      for (const agent of agents) agent.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('a symlink to a FIFO as index.json is refused like the FIFO', async () => {
    const fifo = join(work, 'elsewhere.fifo');
    mkfifo(fifo);
    const dir = await layoutWith('symlink-fifo', 'index.json', (path) => symlink(fifo, path));
    await expectRefused(`oci:${dir}`, 'a FIFO');
  });

  it('a symlink to a regular file as index.json is followed: the image is served', async () => {
    const target = join(work, 'index-elsewhere.json');
    await writeFile(target, readFileSync(join(layout, 'index.json')));
    const dir = await layoutWith('symlink-file', 'index.json', (path) => symlink(target, path));
    const answer = await proxy().request('GET', imageQuery(`oci:${dir}:single`));
    expect(answer.status, answer.body.toString()).to.equal(200);
    expect(answer.headers['instance-digest']).to.equal(ociSingle.manifest.digest);
  });

  it('/dev/zero as index.json is refused as a device, with memory bounded', async () => {
    const dir = await layoutWith('dev-zero', 'index.json', (path) => symlink('/dev/zero', path));
    const started = proxy();
    const answer = await within(PROMPT_MS, 'the /dev/zero index', started.request('GET', imageQuery(`oci:${dir}`)));
    const body = errorOf(answer);
    expect([answer.status, body.code], body.message).to.deep.equal([500, 'io']);
    expect(body.message).to.include('a character device');
    expect(peakRss(started.child.pid!)).to.be.below(PEAK_RSS_BOUND);
  });

  it('a unix socket as index.json is refused with io', async () => {
    const dir = await layoutWith('socket', 'index.json', (path) => {
      const server = createServer();
      servers.push(server);
      return new Promise((resolve) => server.listen(path, () => resolve()));
    });
    await expectRefused(`oci:${dir}`, 'a socket');
  });

  it('a FIFO as a layer blob is refused with io when the blob is asked for', async () => {
    const layer = ociSingle.layers[0]!;
    const dir = await layoutWith('fifo-blob', join('blobs', 'sha256', digestHex(layer.digest)), mkfifo);
    const image = encodeURIComponent(`oci:${dir}:single`);
    await expectRefused(`oci:${dir}:single`, 'a FIFO', `/blobs/${layer.digest}?image=${image}`);
  });

  it("a FIFO as a dir: image's manifest.json is refused with io", async () => {
    const dir = join(work, 'dir-fifo');
    await writeDirImage(dir, dockerSingle);
    await unlink(join(dir, 'manifest.json'));
    mkfifo(join(dir, 'manifest.json'));
    await expectRefused(`dir:${dir}`, 'a FIFO');
  });

  it('a FIFO as an oci-archive, and a symlink to one as a docker-archive, are refused with io', async () => {
    const fifo = join(work, 'archive.fifo');
    mkfifo(fifo);
    const link = join(work, 'archive-link.tar');
    await symlink(fifo, link);
    await expectRefused(`oci-archive:${fifo}`, 'a FIFO');
    await expectRefused(`docker-archive:${link}`, 'a FIFO');
  });

  it('an index.json larger than the manifest limit is refused unread, with memory bounded', async () => {
    const dir = await layoutWith('huge-index', 'index.json', async (path) => {
      await writeFile(path, '');
      await truncate(path, 512 * 1024 * 1024);
    });
    const started = proxy();
    const answer = await within(PROMPT_MS, 'the oversized index', started.request('GET', imageQuery(`oci:${dir}`)));
    const body = errorOf(answer);
    expect([answer.status, body.code], body.message).to.deep.equal([502, 'manifest-invalid']);
    expect(body.message).to.include(join(dir, 'index.json')).and.include(`larger than the ${MAX_MANIFEST_BYTES} bytes allowed`);
    expect(peakRss(started.child.pid!)).to.be.below(PEAK_RSS_BOUND);
  });

  it("a dir: manifest.json larger than the manifest limit is refused, as a registry's would be", async () => {
    const dir = join(work, 'dir-huge');
    await mkdir(dir, { recursive: true });
    await writeDirImage(dir, dockerSingle);
    const padded = { ...JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), padding: 'x'.repeat(MAX_MANIFEST_BYTES) };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(padded));
    const answer = await proxy().request('GET', imageQuery(`dir:${dir}`));
    const body = errorOf(answer);
    expect([answer.status, body.code], body.message).to.deep.equal([502, 'manifest-invalid']);
    expect(body.message).to.include(`larger than the ${MAX_MANIFEST_BYTES} bytes allowed`);
  });

  it('an archive whose entry names would take more memory than the index limit is refused', async () => {
    // Each name is just under the tar parser's own 4 MiB cap; together they pass the index limit.
    const nameBytes = 4 * 1024 * 1024 - 4096;
    const count = Math.ceil(MAX_TAR_INDEX_BYTES / nameBytes) + 1;
    const archive = join(work, 'long-names.tar');
    const packer = pack();
    for (let i = 0; i < count; i++) packer.entry({ name: `${String(i).padStart(4, '0')}${'n'.repeat(nameBytes)}` }, '');
    packer.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of packer as AsyncIterable<Buffer>) chunks.push(chunk);
    await writeFile(archive, Buffer.concat(chunks));
    const started = proxy();
    const answer = await within(PROMPT_MS, 'the archive of long names', started.request('GET', imageQuery(`oci-archive:${archive}`)));
    const body = errorOf(answer);
    expect([answer.status, body.code], body.message).to.deep.equal([502, 'manifest-invalid']);
    expect(body.message).to.include(archive).and.include(`more than the ${MAX_TAR_INDEX_BYTES} bytes allowed`);
  });
});
