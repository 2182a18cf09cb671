import { type FixtureArtifact } from '../fixture-builders.js';
import { requireRegistryTools } from './install.js';
import { makeTempDir, removeTempDir } from './processes.js';
import { RawPusher } from './push.js';
import { type RegistryVariant, type RunningRegistry, startRegistry } from './registry-server.js';

/**
 * One real registry for a mocha suite. `useRegistry(variant, options)`, called in a `describe`,
 * registers a `before` hook that checks the registry tools (skipping loudly outside CI, failing
 * under CI=true), makes the suite's temp dir, starts the registry and pushes the suite's images;
 * and an `after` hook that runs the suite's own teardowns, stops the registry and removes the
 * temp dir. A suite's own `before` hooks registered after the call see the registry running.
 *
 * ```ts
 * const registry = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-demo', images: () => ({ 'demo/image:v1': standardFixtures().dockerList }) });
 * it('…', () => pool.start(`docker://${registry.host}/demo/image:v1`));
 * ```
 */

export interface RegistryFixtureOptions {
  /** Prefix of the suite's temp dir (default `e2e-registry`). */
  readonly tempDir?: string;
  /** Images to push, as `repository:tag` → artifact; a function, so fixtures are built only when the suite runs. */
  readonly images?: () => Readonly<Record<string, FixtureArtifact>>;
  /** Anything else to push with the same pusher (raw blobs and manifests, attachments), after the images. */
  readonly push?: (pusher: RawPusher, fixture: RegistryFixture) => Promise<void>;
}

/** The suite's registry (every field of RunningRegistry), its temp dir, and its teardowns. */
export interface RegistryFixture extends RunningRegistry {
  /** A temp dir of the suite's own, removed after it. */
  readonly workDir: string;
  /** Runs in the `after` hook before the registry stops and the temp dir goes; the last registered runs first. */
  onTeardown(cleanup: () => unknown): void;
}

export function useRegistry(variant: RegistryVariant, options: RegistryFixtureOptions = {}): RegistryFixture {
  let registry: RunningRegistry | undefined;
  let workDir: string | undefined;
  const teardowns: (() => unknown)[] = [];
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the registry fixture's ${what} is used before its before hook ran`);
    return value;
  };
  const running = (): RunningRegistry => started(registry, 'registry');
  // Getters, so a suite can name the fixture `registry` and use it wherever a RunningRegistry goes.
  const fixture: RegistryFixture = {
    get host() {
      return running().host;
    },
    get url() {
      return running().url;
    },
    get tls() {
      return running().tls;
    },
    get caPem() {
      return running().caPem;
    },
    get caPath() {
      return running().caPath;
    },
    get certDir() {
      return running().certDir;
    },
    get certsD() {
      return running().certsD;
    },
    get pushCredentials() {
      return running().pushCredentials;
    },
    get tokenIssuer() {
      return running().tokenIssuer;
    },
    log: () => running().log(),
    stop: () => running().stop(),
    get workDir() {
      return started(workDir, 'temp dir');
    },
    onTeardown: (cleanup) => void teardowns.push(cleanup),
  };

  before(async function () {
    requireRegistryTools(this);
    workDir = makeTempDir(options.tempDir ?? 'e2e-registry');
    registry = await startRegistry(variant);
    const images = Object.entries(options.images?.() ?? {});
    if (images.length === 0 && options.push === undefined) return;
    const pusher = new RawPusher(registry);
    try {
      for (const [name, artifact] of images) {
        const colon = name.lastIndexOf(':');
        if (colon === -1) throw new Error(`an image to push is named REPOSITORY:TAG, not ${JSON.stringify(name)}`);
        await pusher.pushArtifact(name.slice(0, colon), name.slice(colon + 1), artifact);
      }
      await options.push?.(pusher, fixture);
    } finally {
      await pusher.close();
    }
  });

  after(async () => {
    try {
      for (const teardown of teardowns.splice(0).reverse()) await teardown();
    } finally {
      await registry?.stop();
      if (workDir !== undefined) removeTempDir(workDir);
      registry = undefined;
      workDir = undefined;
    }
  });

  return fixture;
}
