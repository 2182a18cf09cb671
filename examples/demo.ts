/**
 * A Node parent of the proxy through the package's TypeScript client (`ImageProxy`, what
 * `import { ImageProxy } from 'container-image-proxy'` gives users): it spawns the proxy over a
 * socketpair, fetches the manifest, the config and every blob, checks each digest, quits.
 *
 *   node dist/examples/demo.js [IMAGE] [PROXY OPTIONS...]
 *
 * IMAGE defaults to the bundled oci:examples/image:latest; the options go to the proxy as they
 * are, e.g. `node dist/examples/demo.js docker://127.0.0.1:5000/repo:tag --tls-verify=false`.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Descriptor, ImageProxy, ImageProxyError } from '../src/client/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const [first, ...rest] = process.argv.slice(2);
const givenImage = first !== undefined && !first.startsWith('-');
const image = givenImage ? first : 'oci:examples/image:latest';
const proxyOptions = givenImage ? rest : process.argv.slice(2);

/** Names the request in a failure, with the proxy's JSON error as it was answered. */
async function step<T>(request: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ImageProxyError)) throw err;
    const answer = err.status === 0 ? `${err.code}: ${err.message}` : `HTTP ${err.status}: ${JSON.stringify({ code: err.code, message: err.message })}`;
    throw new Error(`${request}: ${answer}`, { cause: err });
  }
}

async function fetchChecked(proxy: ImageProxy, what: string, descriptor: Descriptor): Promise<number> {
  const request = `GET /blobs/${descriptor.digest}`;
  const hash = createHash('sha256');
  let length = 0;
  await step(request, async () => {
    for await (const chunk of (await proxy.blob(descriptor.digest)) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
    }
  });
  const ok = `sha256:${hash.digest('hex')}` === descriptor.digest && length === descriptor.size;
  console.log(`  ${what.padEnd(9)} ${descriptor.digest}  ${String(length).padStart(8)} bytes  ${ok ? 'digest OK' : 'DIGEST MISMATCH'}`);
  if (!ok) throw new Error(`${what} ${descriptor.digest} does not verify`);
  return length;
}

async function main(proxy: ImageProxy): Promise<void> {
  console.log(`container-image-proxy demo (Node): ${image}`);
  const { manifest, digest, instanceDigest, bytes } = await step('GET /manifest', () => proxy.manifest());
  console.log(`  manifest  ${digest}`);
  console.log(`  instance  ${instanceDigest}  ${bytes.length} bytes, ${manifest.layers.length} layer(s)`);

  const config = await step('GET /config', () => proxy.config());
  console.log(`  platform  ${[config.os, config.architecture, config.variant].filter(Boolean).join('/')}`);
  await fetchChecked(proxy, 'config', manifest.config);
  let total = 0;
  for (const [i, layer] of manifest.layers.entries()) total += await fetchChecked(proxy, `layer ${i + 1}`, layer);
  console.log(`  layers    ${total} bytes in all, every digest verified`);

  await step('POST /quit', () => proxy.quit());
  console.log(`  quit      the proxy exited with ${proxy.child.exitCode}`);
}

const proxy = await ImageProxy.spawn({ image, args: ['--policy', 'examples/policy.json', ...proxyOptions], cwd: ROOT });
await main(proxy).catch(async (err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await proxy.kill();
  process.exitCode = 1;
});
