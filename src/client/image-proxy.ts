import { type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { type Readable } from 'node:stream';
import { ProxyConnection } from './connection.js';
import { ImageProxyError } from './errors.js';
import { spawnProxy, type SpawnOptions, type SpawnedProxy } from './spawn-proxy.js';
import { type ExitStatus, type ImageConfig, type LayerInfo, type ManifestAnswer, type OciManifest, type VersionInfo } from './types.js';

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface BlobOptions extends CallOptions {
  /** Another image than the command line's (`transport:reference`). */
  readonly image?: string;
}

/** How long a failed request waits for the proxy's exit status, to say how it ended. */
const EXIT_GRACE_MS = 1000;

/**
 * A container-image-proxy child process and its one HTTP/1.1 connection over a socketpair.
 *
 * Requests on the connection are answered one after the other: read each blob stream to its end
 * (or let it fail) before the next call's answer can arrive. Destroying a blob stream early
 * closes the connection, which ends the proxy: a sidecar has exactly one connection.
 *
 * The child does not keep the parent's event loop alive: a parent that exits without `quit()`
 * closes its half of the socketpair, and the proxy exits on its own.
 */
export class ImageProxy {
  readonly #proxy: SpawnedProxy;
  readonly #connection: ProxyConnection;
  #exitStatus: ExitStatus | undefined;

  private constructor(proxy: SpawnedProxy) {
    this.#proxy = proxy;
    void proxy.exited.then((status) => (this.#exitStatus = status));
    this.#connection = new ProxyConnection(proxy.socket, () => this.#describeExit());
    proxy.child.unref();
  }

  static async spawn(options: SpawnOptions = {}): Promise<ImageProxy> {
    return new ImageProxy(await spawnProxy(options));
  }

  /** The proxy process, e.g. for its pid or a piped stderr. */
  get child(): ChildProcess {
    return this.#proxy.child;
  }

  /** The OCI manifest (converted if the image is not OCI) and its digests. */
  async manifest(image?: string, options: CallOptions = {}): Promise<ManifestAnswer> {
    const answer = await this.#connection.request('GET', withImage('/manifest', image), options.signal);
    const bytes = await this.#connection.bytes('GET /manifest', answer.body);
    return {
      manifest: parseJson<OciManifest>('GET /manifest', bytes),
      digest: header(answer.headers, 'manifest-digest'),
      instanceDigest: header(answer.headers, 'instance-digest'),
      bytes,
    };
  }

  async config(image?: string, options: CallOptions = {}): Promise<ImageConfig> {
    const answer = await this.#connection.request('GET', withImage('/config', image), options.signal);
    return this.#connection.json<ImageConfig>('GET /config', answer);
  }

  /** Every layer with its compression and diffID, in manifest order. */
  async layers(image?: string, options: CallOptions = {}): Promise<LayerInfo[]> {
    const answer = await this.#connection.request('GET', withImage('/layers', image), options.signal);
    return this.#connection.json<LayerInfo[]>('GET /layers', answer);
  }

  /**
   * A blob exactly as stored, verified by the proxy. The stream fails with `incomplete-body`
   * when the proxy ends it early (a digest or size mismatch), so a stream that ends is complete.
   */
  async blob(digest: string, options: BlobOptions = {}): Promise<Readable> {
    const path = withImage(blobPath(digest), options.image);
    const answer = await this.#connection.request('GET', path, options.signal);
    if (answer.headers['content-length'] === undefined) {
      answer.body.destroy();
      throw new ImageProxyError('bad-response', 0, `GET ${path}: no Content-Length on a blob`);
    }
    return this.#connection.relay(`blob ${digest}`, answer.body);
  }

  /**
   * A layer as its uncompressed tar, checked by the proxy against both the layer digest and the
   * diffID. The stream fails with `incomplete-body` unless the proxy completed it.
   */
  async decompressedLayer(digest: string, options: BlobOptions = {}): Promise<Readable> {
    const path = withImage(blobPath(digest), options.image, { decompress: 'true' });
    const answer = await this.#connection.request('GET', path, options.signal);
    return this.#connection.relay(`decompressed layer ${digest}`, answer.body);
  }

  /** Resolves and policy-checks `image` now, so later calls with it are served from the cache. */
  async openImage(image: string, options: CallOptions = {}): Promise<void> {
    const answer = await this.#connection.request('GET', withImage('/manifest', image), options.signal);
    await this.#connection.bytes('GET /manifest', answer.body);
  }

  /** Like openImage, but a missing image is the answer `false` instead of an error. */
  async openImageOptional(image: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.openImage(image, options);
      return true;
    } catch (err) {
      if (err instanceof ImageProxyError && err.code === 'image-not-found') return false;
      throw err;
    }
  }

  /** Drops `image` from the proxy's cache. */
  async closeImage(image: string, options: CallOptions = {}): Promise<void> {
    const answer = await this.#connection.request('POST', withImage('/close', image), options.signal);
    await this.#connection.bytes('POST /close', answer.body);
  }

  async version(options: CallOptions = {}): Promise<VersionInfo> {
    const answer = await this.#connection.request('GET', '/version', options.signal);
    return this.#connection.json<VersionInfo>('GET /version', answer);
  }

  /** Asks the proxy to exit and waits for it; a non-zero exit is a `proxy-failed` error. */
  async quit(options: CallOptions = {}): Promise<void> {
    this.#proxy.child.ref();
    const answer = await this.#connection.request('POST', '/quit', options.signal);
    await this.#connection.bytes('POST /quit', answer.body);
    await this.#connection.close();
    const status = await this.#proxy.exited;
    if (status.code !== 0) throw new ImageProxyError('proxy-failed', 0, `the proxy exited with ${describeStatus(status)} after POST /quit`);
  }

  /** Ends the session without asking: closes the connection and kills the proxy if it still runs. */
  async kill(): Promise<ExitStatus> {
    this.#proxy.child.ref();
    if (this.#exitStatus === undefined) this.#proxy.child.kill('SIGKILL');
    await this.#connection.close();
    this.#proxy.socket.destroy();
    return this.#proxy.exited;
  }

  async #describeExit(): Promise<string> {
    const status = this.#exitStatus ?? (await Promise.race([this.#proxy.exited, delay(EXIT_GRACE_MS, undefined, { ref: false })]));
    return status === undefined ? '' : ` (the proxy exited with ${describeStatus(status)})`;
  }
}

function withImage(path: string, image: string | undefined, query: Record<string, string> = {}): string {
  const params = new URLSearchParams(query);
  if (image !== undefined) params.set('image', image);
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** `sha256:…` stays readable in the proxy's logs; anything else a digest cannot hold is escaped. */
function blobPath(digest: string): string {
  return `/blobs/${encodeURIComponent(digest).replaceAll('%3A', ':')}`;
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string') throw new ImageProxyError('bad-response', 0, `GET /manifest: no ${name} header`);
  return value;
}

function parseJson<T>(what: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new ImageProxyError('bad-response', 0, `${what}: the answer is not JSON`, { cause: err });
  }
}

function describeStatus(status: ExitStatus): string {
  return status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
}
