/**
 * What the fidelity suites share: a scratch directory with an isolated skopeo, proxies of the
 * real CLI over a socketpair, reading what `skopeo copy` wrote (the oracle), and fixture images
 * rewritten the way real tools leave them (no mediaType, odd diff_ids).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Digest } from '../../../src/domain/digest.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { blobOf, type FixtureBlob, type FixtureImage, ociBlobPath } from '../../support/image-fixtures.js';
import { makeSkopeoEnvironment, skopeo, type SkopeoEnvironment } from '../../support/registry/skopeo.js';
import { type HttpAnswer, spawnProxy, type ProxyProcess } from '../../support/spawn-proxy.js';
import { assertSkopeo } from '../../adapters/archive/archive-fixtures.js';

export interface Descriptor {
  readonly mediaType?: string;
  readonly digest: Digest;
  readonly size: number;
}

export interface Manifest {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** One entry of GET /layers. */
export interface LayerAnswer {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly compression: string;
  readonly diffID?: Digest;
  readonly diffIDError?: string;
  readonly zstdChunked?: true;
}

export function jsonOf<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

/** A suite's scratch directory, skopeo environment and proxies; `setUp` in before, `tearDown` in after. */
export class FidelityBench {
  work = '';
  env: SkopeoEnvironment | undefined;
  private readonly proxies: ProxyProcess[] = [];

  async setUp(): Promise<void> {
    assertSkopeo();
    this.env = makeSkopeoEnvironment();
    this.work = await mkdtemp(join(tmpdir(), 'fidelity-'));
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.proxies.splice(0).map((proxy) => proxy.dispose()));
    this.env?.cleanup();
    if (this.work !== '') await rm(this.work, { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.work, name);
  }

  /** The real CLI over a socketpair, `--insecure-policy`, IMAGE last. */
  proxy(...args: string[]): ProxyProcess {
    const proxy = spawnProxy(['--insecure-policy', ...args]);
    this.proxies.push(proxy);
    return proxy;
  }

  async skopeo(...args: string[]): Promise<void> {
    await skopeo(this.env!, args);
  }

  /**
   * `skopeo copy … SOURCE oci:DIR:oracle`, and the manifest and config containers/image wrote
   * there. Uncompressed layers are accepted so that no layer is recompressed: only what
   * containers/image makes of the manifest and config shows.
   */
  async copyToLayout(source: string, name: string, ...flags: string[]): Promise<{ manifest: Buffer; config: Buffer }> {
    const layout = this.path(name);
    await this.skopeo('copy', '--quiet', '--dest-oci-accept-uncompressed-layers', ...flags, source, `oci:${layout}:oracle`);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: Digest }[] };
    expect(index.manifests, 'skopeo wrote one image').to.have.length(1);
    const manifest = await readFile(ociBlobPath(layout, index.manifests[0]!.digest));
    const config = await readFile(ociBlobPath(layout, (JSON.parse(manifest.toString()) as Manifest).config.digest));
    return { manifest, config };
  }
}

/** The proxy is still serving after what a test did, and quits cleanly when asked. */
export async function expectStillServing(proxy: ProxyProcess): Promise<void> {
  expect(proxy.child.exitCode, proxy.stderr()).to.equal(null);
  const quit = await proxy.request('POST', '/quit');
  expect(quit.status).to.equal(200);
  expect((await proxy.exited).code, proxy.stderr()).to.equal(0);
}

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** Drops the top-level `mediaType` of a JSON blob, as OCI tools before image-spec 1.0.2 wrote them. */
export function withoutMediaType(blob: FixtureBlob): FixtureBlob {
  const { mediaType: _dropped, ...rest } = JSON.parse(Buffer.from(blob.bytes).toString('utf8')) as Record<string, unknown>;
  return blobOf(blob.mediaType, encode(rest));
}

/** The image with its config's `rootfs.diff_ids` replaced, and its manifest naming the new config. */
export function withDiffIDs(image: FixtureImage, diffIDs: readonly unknown[]): FixtureImage {
  const config = JSON.parse(Buffer.from(image.config.bytes).toString('utf8')) as { rootfs: { diff_ids: unknown[] } };
  config.rootfs.diff_ids = [...diffIDs];
  return withConfig(image, encode(config));
}

/** The image with these config bytes, its manifest pointing at them. */
export function withConfig(image: FixtureImage, bytes: Uint8Array): FixtureImage {
  const configBlob = blobOf(image.config.mediaType, bytes);
  const manifest = JSON.parse(Buffer.from(image.manifest.bytes).toString('utf8')) as { config: { digest: string; size: number } };
  manifest.config = { ...manifest.config, digest: configBlob.digest, size: configBlob.bytes.length };
  return { ...image, config: configBlob, manifest: blobOf(image.format === 'oci' ? MediaType.ociManifest : MediaType.dockerSchema2, encode(manifest)) };
}
