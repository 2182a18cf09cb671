import { type ChildProcess } from 'node:child_process';
import { type Readable } from 'node:stream';
import { parseJson, readBody } from './answers.js';
import { type Answer } from './connection.js';
import { ImageProxyError } from './errors.js';
import { checkProgressCallback, type ProgressCallback, progressMeter } from './progress.js';
import { type CallOptions, ProxySession } from './session.js';
import { spawnProxy, type SpawnOptions } from './spawn-proxy.js';
import { type ExitStatus, type ImageConfig, type LayerInfo, type ManifestAnswer, type OciManifest, type VersionInfo } from './types.js';

export type { CallOptions } from './session.js';
export type { Progress, ProgressCallback } from './progress.js';

export interface BlobOptions extends CallOptions {
  /** Another image than the command line's (`transport:reference`). */
  readonly image?: string;
  /**
   * Called with `{ digest, bytes, total }` as the body streams: at most every 100 ms, then once
   * when it arrived whole (`bytes` is then its whole length), never after a failure or a cancel.
   * An exception it throws fails the stream with that exception; an async callback is not
   * awaited, and its rejection fails the stream the same way.
   */
  readonly onProgress?: ProgressCallback;
  /**
   * `blob` only: an encrypted layer as its plaintext (still compressed), which the proxy checks
   * against the layer's HMAC, opened with its `--decryption-key`s. `decompressedLayer` always
   * decrypts.
   */
  readonly decrypt?: boolean;
}

/**
 * A container-image-proxy child process and a pool of HTTP/1.1 connections to it, one per
 * socketpair (`SpawnOptions.connections`, default 4).
 *
 * Each call takes a free connection until its answer has been read; a blob stream holds its
 * connection until it ends, so up to `connections` blobs download in parallel and further calls
 * wait for a free connection. HTTP/1.1 can only abandon an exchange by closing its connection: a
 * call cancelled (`signal`, `timeout`) once it has a connection, waiting for its headers or
 * mid-body, or a blob stream destroyed before its end closes that one connection (a call still
 * waiting for a free one closes none), and the session goes on with the others. When none is left, calls reject with
 * `connection-closed` (the proxy, having lost every peer, exits 0).
 *
 * If the proxy exits on its own (it could not start: a bad option, no policy.json; or a blob
 * failed verification), every pending and later call rejects with `proxy-failed`, whose message
 * gives the exit status and the proxy's last stderr line.
 *
 * The child keeps this process alive only while calls are under way: a parent that exits
 * without `quit()` closes its halves of the socketpairs, and the proxy exits on its own.
 */
export class ImageProxy {
  readonly #child: ChildProcess;
  readonly #session: ProxySession;

  private constructor(child: ChildProcess, session: ProxySession) {
    this.#child = child;
    this.#session = session;
  }

  /** Starts the proxy; a command that cannot be run rejects with `proxy-failed`. */
  static async spawn(options: SpawnOptions = {}): Promise<ImageProxy> {
    const proxy = await spawnProxy(options);
    return new ImageProxy(proxy.child, new ProxySession(proxy));
  }

  /** The proxy process, e.g. for its pid, or its stderr with `stderr: 'pipe'`. */
  get child(): ChildProcess {
    return this.#child;
  }

  /** How many pooled connections are still open: each cancelled transfer closes one. */
  get openConnections(): number {
    return this.#session.openConnections;
  }

  /** The OCI manifest (converted if the image is not OCI) and its digests. */
  async manifest(image?: string, options: CallOptions = {}): Promise<ManifestAnswer> {
    return this.#session.exchange('GET /manifest', 'GET', withImage('/manifest', image), options, async (answer) => {
      const bytes = await readBody('GET /manifest', answer.body);
      return {
        manifest: parseJson<OciManifest>('GET /manifest', bytes),
        digest: header(answer, 'manifest-digest'),
        instanceDigest: header(answer, 'instance-digest'),
        bytes,
      };
    });
  }

  /** The OCI image config the manifest references. */
  async config(image?: string, options: CallOptions = {}): Promise<ImageConfig> {
    return this.#json<ImageConfig>('GET /config', withImage('/config', image), options);
  }

  /** Every layer with its compression and diffID, in manifest order. */
  async layers(image?: string, options: CallOptions = {}): Promise<LayerInfo[]> {
    return this.#json<LayerInfo[]>('GET /layers', withImage('/layers', image), options);
  }

  /**
   * A blob exactly as stored, verified by the proxy. The stream fails with `incomplete-body`
   * when the proxy ends it early (a digest or size mismatch), so a stream that ends is complete.
   */
  async blob(digest: string, options: BlobOptions = {}): Promise<Readable> {
    checkProgressCallback(options.onProgress);
    const path = withImage(blobPath(digest), options.image, options.decrypt === true ? { decrypt: 'true' } : {});
    return this.#session.stream(`blob ${digest}`, 'GET', path, options, (answer) => {
      const length = answer.headers['content-length'];
      if (length === undefined) {
        answer.body.destroy();
        throw new ImageProxyError('bad-response', 0, `GET ${path}: no Content-Length on a blob`);
      }
      return progressMeter(options.onProgress, digest, length);
    });
  }

  /**
   * A layer as its uncompressed tar, checked by the proxy against both the layer digest and the
   * diffID. The stream fails with `incomplete-body` unless the proxy completed it. Progress
   * counts tar bytes: `total` is the layer's size when it is stored uncompressed, otherwise
   * undefined (the proxy learns the tar's length only at its end).
   */
  async decompressedLayer(digest: string, options: BlobOptions = {}): Promise<Readable> {
    checkProgressCallback(options.onProgress);
    const path = withImage(blobPath(digest), options.image, { decompress: 'true' });
    return this.#session.stream(`decompressed layer ${digest}`, 'GET', path, options, (answer) =>
      progressMeter(options.onProgress, digest, answer.headers['content-length']),
    );
  }

  /** Resolves and policy-checks `image` now, so later calls with it are served from the cache. */
  async openImage(image: string, options: CallOptions = {}): Promise<void> {
    await this.#session.exchange('GET /manifest', 'GET', withImage('/manifest', image), options, (answer) => readBody('GET /manifest', answer.body));
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

  /** Drops `image` from the proxy's cache: the next call with it resolves it again. */
  async closeImage(image: string, options: CallOptions = {}): Promise<void> {
    await this.#session.exchange('POST /close', 'POST', withImage('/close', image), options, (answer) => readBody('POST /close', answer.body));
  }

  /** The proxy's package version and HTTP API version. */
  async version(options: CallOptions = {}): Promise<VersionInfo> {
    return this.#json<VersionInfo>('GET /version', '/version', options);
  }

  /** Asks the proxy to exit and waits for it; a non-zero exit is a `proxy-failed` error. */
  async quit(options: CallOptions = {}): Promise<void> {
    await this.#session.quit(options);
  }

  /** Ends the session without asking: kills the proxy if it still runs, and says how it exited. */
  async kill(): Promise<ExitStatus> {
    return (await this.#session.kill()).status;
  }

  async #json<T>(what: string, path: string, options: CallOptions): Promise<T> {
    return this.#session.exchange(what, 'GET', path, options, async (answer) => parseJson<T>(what, await readBody(what, answer.body)));
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

function header(answer: Answer, name: string): string {
  const value = answer.headers[name];
  if (typeof value !== 'string') throw new ImageProxyError('bad-response', 0, `GET /manifest: no ${name} header`);
  return value;
}
