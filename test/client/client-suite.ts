/**
 * The set-up every TypeScript client suite shares: the client images, written once per suite,
 * and `start`, which spawns a proxy (quiet, `--insecure-policy`) that is killed after each test.
 */
import { ImageProxy, type SpawnOptions } from '../../src/client/index.js';
import { type ClientImages, writeClientImages } from './client-images.js';

export interface ClientSuite {
  /** Available from the suite's `before` hook on. */
  readonly images: () => ClientImages;
  readonly start: (options: SpawnOptions) => Promise<ImageProxy>;
  /** Kills `proxy` after the test, for proxies spawned without `start`. */
  readonly track: (proxy: ImageProxy) => ImageProxy;
}

/** Registers the hooks in the calling `describe`. */
export function clientSuite(): ClientSuite {
  let images: ClientImages | undefined;
  const running: ImageProxy[] = [];
  before(async () => {
    images = await writeClientImages();
  });
  after(async () => {
    await images?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.kill()));
  });
  const track = (proxy: ImageProxy) => {
    running.push(proxy);
    return proxy;
  };
  return {
    images: () => images!,
    start: async (options) => track(await ImageProxy.spawn({ stderr: 'ignore', ...options, args: ['--insecure-policy', ...(options.args ?? [])] })),
    track,
  };
}
