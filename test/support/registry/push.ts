import { request, type Dispatcher } from 'undici';
import { artifactBlobs, type FixtureArtifact } from '../fixture-builders.js';
import { registryDispatcher, sha256 } from './registry-client.js';
import { type RunningRegistry } from './registry-server.js';
import { skopeoOnce } from './skopeo.js';

/**
 * Getting images into a test registry: with skopeo from an OCI layout (what real pushes
 * look like, including schema2 conversion and manifest lists), or by hand over HTTP for
 * documents skopeo would never write (foreign layers, odd media types).
 */

export interface SkopeoPushOptions {
  /** `v2s2` pushes docker schema2 (with `all`, an index becomes a docker manifest list). */
  readonly format?: 'oci' | 'v2s2';
  readonly all?: boolean;
  readonly preserveDigests?: boolean;
  /**
   * Recompress layers. skopeo skips this for a layer the destination repository already holds
   * (it reuses the blob), so push a zstd variant into a repository of its own.
   */
  readonly compressFormat?: 'gzip' | 'zstd';
}

/** The flags that let skopeo reach `registry` as a destination (or, with 'src', a source). */
export function skopeoRegistryFlags(registry: RunningRegistry, side: 'src' | 'dest', credentials = registry.pushCredentials): string[] {
  const flags = registry.tls ? [`--${side}-cert-dir`, registry.certDir ?? ''] : [`--${side}-tls-verify=false`];
  if (credentials) flags.push(`--${side}-creds`, `${credentials.user}:${credentials.pass}`);
  return flags;
}

/** `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO:DEST_TAG`. */
export async function pushLayout(
  registry: RunningRegistry,
  layoutDir: string,
  layoutTag: string,
  repository: string,
  tag = layoutTag,
  options: SkopeoPushOptions = {},
): Promise<void> {
  const args = ['copy', '--quiet', ...skopeoRegistryFlags(registry, 'dest')];
  if (options.format) args.push('--format', options.format);
  if (options.all) args.push('--all');
  if (options.preserveDigests) args.push('--preserve-digests');
  if (options.compressFormat) args.push('--dest-compress-format', options.compressFormat);
  await skopeoOnce([...args, `oci:${layoutDir}:${layoutTag}`, `docker://${registry.host}/${repository}:${tag}`]);
}

export interface PullOptions {
  /** Copy a whole list instead of the instance for this (or the overridden) platform. */
  readonly all?: boolean;
  /** skopeo's `--override-arch` / `--override-variant` (Go names: amd64, arm64, arm; v7, v8). */
  readonly overrideArch?: string;
  readonly overrideVariant?: string;
}

/**
 * `skopeo copy --format oci docker://… oci:DIR:TAG`: how containers/image sees the image (the
 * oracle). Uncompressed layers stay uncompressed (an oci: destination would otherwise gzip
 * them), so the result is the in-memory conversion a proxy serves, not a recompressed copy.
 */
export async function pullToLayout(
  registry: RunningRegistry,
  reference: string,
  layoutDir: string,
  layoutTag = 'pulled',
  options: PullOptions = {},
): Promise<void> {
  const args = [];
  if (options.overrideArch) args.push('--override-arch', options.overrideArch);
  if (options.overrideVariant) args.push('--override-variant', options.overrideVariant);
  args.push('copy', '--quiet', '--format', 'oci', '--dest-oci-accept-uncompressed-layers', ...skopeoRegistryFlags(registry, 'src'));
  if (options.all) args.push('--all');
  await skopeoOnce([...args, `docker://${registry.host}/${reference}`, `oci:${layoutDir}:${layoutTag}`]);
}

/**
 * Raw HTTP pushes with the harness's own credentials. Handles Basic and Bearer challenges
 * (asking the registry's token realm for push access), so it works on every variant.
 */
export class RawPusher {
  private readonly dispatcher: Dispatcher;
  private authorization: string | undefined;

  constructor(private readonly registry: RunningRegistry) {
    this.dispatcher = registryDispatcher(registry);
  }

  /** Uploads a blob in one monolithic PUT; returns its digest. */
  async pushBlob(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256(bytes);
    const started = await this.send(repository, 'POST', `/v2/${repository}/blobs/uploads/`, {});
    expectStatus(started, 202, `starting an upload to ${repository}`);
    const location = new URL(header(started, 'location'), this.registry.url);
    location.searchParams.set('digest', digest);
    const finished = await this.send(repository, 'PUT', location.pathname + location.search, { body: bytes, contentType: 'application/octet-stream' });
    expectStatus(finished, 201, `uploading blob ${digest} to ${repository}`);
    return digest;
  }

  /** PUTs a manifest under a tag or digest with the given media type; returns its digest. */
  async pushManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const response = await this.send(repository, 'PUT', `/v2/${repository}/manifests/${reference}`, { body: bytes, contentType: mediaType });
    expectStatus(response, 201, `putting manifest ${reference} in ${repository}`);
    return sha256(bytes);
  }

  /**
   * Pushes a fixture byte for byte: configs and layers, a list's instances by digest, then
   * the top manifest under `tag`. The registry then serves exactly the fixture's digests.
   */
  async pushArtifact(repository: string, tag: string, artifact: FixtureArtifact): Promise<void> {
    for (const blob of artifactBlobs(artifact)) await this.pushBlob(repository, blob.bytes);
    if (artifact.kind === 'list') {
      for (const instance of artifact.instances)
        await this.pushManifest(repository, instance.manifest.digest, instance.manifest.bytes, instance.manifest.mediaType);
    }
    await this.pushManifest(repository, tag, artifact.manifest.bytes, artifact.manifest.mediaType);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async send(repository: string, method: 'POST' | 'PUT', path: string, payload: { body?: Uint8Array; contentType?: string }): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (payload.contentType) headers['content-type'] = payload.contentType;
      if (this.authorization) headers.authorization = this.authorization;
      const response = await request(new URL(path, this.registry.url), { method, headers, body: payload.body ?? '', dispatcher: this.dispatcher });
      const text = await response.body.text();
      if (response.statusCode !== 401 || attempt > 0) return { status: response.statusCode, headers: response.headers, text };
      this.authorization = await this.authorize(header({ status: 401, headers: response.headers, text }, 'www-authenticate'), repository);
    }
  }

  private async authorize(challenge: string, repository: string): Promise<string> {
    const credentials = this.registry.pushCredentials;
    if (credentials === undefined) throw new Error(`registry ${this.registry.host} wants credentials but the harness has none`);
    const basic = `Basic ${Buffer.from(`${credentials.user}:${credentials.pass}`).toString('base64')}`;
    if (/^Basic\b/i.test(challenge)) return basic;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const realm = new URL(params.realm ?? '');
    realm.searchParams.set('service', params.service ?? '');
    realm.searchParams.set('scope', `repository:${repository}:pull,push`);
    const response = await request(realm, { headers: { authorization: basic }, dispatcher: this.dispatcher });
    const body = (await response.body.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (response.statusCode !== 200 || token === undefined) throw new Error(`token realm ${realm.origin} refused the harness (${response.statusCode})`);
    return `Bearer ${token}`;
  }
}

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

function header(response: Response, name: string): string {
  const value = response.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) throw new Error(`registry answered ${response.status} without a ${name} header`);
  return first;
}

function expectStatus(response: Response, status: number, what: string): void {
  if (response.status !== status) throw new Error(`${what}: registry answered ${response.status}: ${response.text.slice(0, 500)}`);
}
