/**
 * A Node parent of the proxy: spawns it with one half of a socketpair as fd 3, speaks HTTP/1.1 on
 * the other half, fetches the manifest, the config and every blob, checks each digest, quits.
 *
 *   node dist/examples/demo.js [IMAGE] [PROXY OPTIONS...]
 *
 * IMAGE defaults to the bundled oci:examples/image:latest; the options go to the proxy as they
 * are, e.g. `node dist/examples/demo.js docker://127.0.0.1:5000/repo:tag --tls-verify=false`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/app/cli.js', import.meta.url));
const [first, ...rest] = process.argv.slice(2);
const givenImage = first !== undefined && !first.startsWith('-');
const image = givenImage ? first : 'oci:examples/image:latest';
const proxyOptions = givenImage ? rest : process.argv.slice(2);

interface Descriptor {
  readonly digest: string;
  readonly size: number;
}

const proxy = spawn(process.execPath, [CLI, '--sockfd', '3', '--policy', 'examples/policy.json', ...proxyOptions, image], {
  cwd: ROOT,
  stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
});
const exited = new Promise<number | null>((resolve) => proxy.once('exit', resolve));

// One keep-alive connection, and it is the socketpair: the agent never dials anywhere.
const socket = proxy.stdio[3] as Socket;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
agent.createConnection = () => socket;

function get(method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, method, path, host: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function fetchChecked(what: string, descriptor: Descriptor): Promise<Buffer> {
  const { status, body } = await get('GET', `/blobs/${descriptor.digest}`);
  if (status !== 200) throw new Error(`${what} ${descriptor.digest}: HTTP ${status}: ${body.toString()}`);
  const ok = sha256(body) === descriptor.digest && body.length === descriptor.size;
  console.log(`  ${what.padEnd(9)} ${descriptor.digest}  ${String(body.length).padStart(8)} bytes  ${ok ? 'digest OK' : 'DIGEST MISMATCH'}`);
  if (!ok) throw new Error(`${what} ${descriptor.digest} does not verify`);
  return body;
}

async function main(): Promise<void> {
  console.log(`container-image-proxy demo (Node): ${image}`);
  const manifest = await get('GET', '/manifest');
  if (manifest.status !== 200) throw new Error(`GET /manifest: HTTP ${manifest.status}: ${manifest.body.toString()}`);
  const parsed = JSON.parse(manifest.body.toString()) as { config: Descriptor; layers: Descriptor[] };
  console.log(`  manifest  ${String(manifest.headers['manifest-digest'])}`);
  console.log(`  instance  ${String(manifest.headers['instance-digest'])}  ${manifest.body.length} bytes, ${parsed.layers.length} layer(s)`);

  const config = JSON.parse((await get('GET', '/config')).body.toString()) as { os: string; architecture: string; variant?: string };
  console.log(`  platform  ${[config.os, config.architecture, config.variant].filter(Boolean).join('/')}`);
  await fetchChecked('config', parsed.config);
  let total = 0;
  for (const [i, layer] of parsed.layers.entries()) total += (await fetchChecked(`layer ${i + 1}`, layer)).length;
  console.log(`  layers    ${total} bytes in all, every digest verified`);

  await get('POST', '/quit');
  agent.destroy();
  const code = await exited;
  console.log(`  quit      the proxy exited with ${code}`);
  if (code !== 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  proxy.kill();
  await exited;
  process.exitCode = 1;
});
