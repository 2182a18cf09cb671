/**
 * Helpers for driving the built CLI against registries: a pool of proxies that the suite
 * disposes after each test, an isolated environment (no auth.json or certs.d of the machine
 * leaks in), and checks that fetch a whole image through the proxy and verify every digest.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../../src/domain/digest.js';
import { type HttpAnswer, spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
}

export interface OciManifest {
  readonly mediaType: string;
  readonly config: OciDescriptor;
  readonly layers: readonly OciDescriptor[];
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

export function jsonOf<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

export function errorOf(answer: HttpAnswer): ErrorBody {
  return jsonOf<ErrorBody>(answer);
}

/**
 * An environment with a private HOME and runtime dir, so the proxy's default auth.json and
 * certs.d searches find nothing of the machine's; `extra` adds or overrides variables.
 */
export function isolatedEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = join(dir, 'home');
  const runtime = join(dir, 'run');
  mkdirSync(home, { recursive: true });
  mkdirSync(runtime, { recursive: true });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: join(home, '.config'), ...extra };
  return env;
}

/** Proxies started by a suite; `disposeAll` in `afterEach` kills whatever still runs. */
export class ProxyPool {
  private readonly running: ProxyProcess[] = [];

  constructor(private readonly env: () => NodeJS.ProcessEnv) {}

  /** `--insecure-policy` plus `args`; IMAGE goes last in `args`. */
  start(...args: string[]): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', ...args], { env: this.env() });
    this.running.push(proxy);
    return proxy;
  }

  async disposeAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((proxy) => proxy.dispose()));
  }
}

export interface FetchedImage {
  readonly manifest: HttpAnswer;
  readonly parsed: OciManifest;
  readonly config: HttpAnswer;
  /** The bytes of every blob (config first), each already checked against its descriptor. */
  readonly blobs: ReadonlyMap<Digest, Buffer>;
}

/**
 * GET /manifest, /config and /blobs for the config and every layer; asserts statuses, media
 * types, sizes and that each body hashes to its descriptor's digest.
 */
export async function fetchVerifiedImage(proxy: ProxyProcess): Promise<FetchedImage> {
  const manifest = await proxy.request('GET', '/manifest');
  expect(manifest.status, `GET /manifest: ${manifest.body.toString()}`).to.equal(200);
  expect(manifest.headers['content-type']).to.equal(OCI_MANIFEST);
  const parsed = jsonOf<OciManifest>(manifest);
  expect(parsed.mediaType).to.equal(OCI_MANIFEST);
  const config = await proxy.request('GET', '/config');
  expect(config.status, `GET /config: ${config.body.toString()}`).to.equal(200);
  expect(config.headers['content-type']).to.equal(OCI_CONFIG);
  expect(digestOf(config.body), 'the served config is the one the manifest names').to.equal(parsed.config.digest);
  const blobs = new Map<Digest, Buffer>();
  for (const descriptor of [parsed.config, ...parsed.layers]) {
    const blob = await proxy.request('GET', `/blobs/${descriptor.digest}`);
    expect(blob.status, `GET /blobs/${descriptor.digest}: ${blob.body.toString().slice(0, 300)}`).to.equal(200);
    expect(blob.complete, `${descriptor.digest} arrived whole`).to.equal(true);
    expect(blob.body.length, `${descriptor.digest} size`).to.equal(descriptor.size);
    expect(digestOf(blob.body), `${descriptor.digest} content`).to.equal(descriptor.digest);
    blobs.set(descriptor.digest, blob.body);
  }
  return { manifest, parsed, config, blobs };
}

/** `docker://HOST/REPO:TAG`. */
export function dockerReference(host: string, repository: string, tag: string): string {
  return `docker://${host}/${repository}:${tag}`;
}
