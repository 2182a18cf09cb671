import { ensureRegistryTools } from './registry/install.js';

/**
 * Runs once before every suite: several suites use docker-registry, skopeo, openssl, zstd or gpg
 * without starting a registry first, so the tools are installed (as root, with apt) before any
 * of them runs. Under CI=true a tool that cannot be had fails the whole run; elsewhere the suites
 * that need it skip loudly.
 */
export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    this.timeout(10 * 60_000);
    const status = ensureRegistryTools();
    if (!status.ready) console.warn(`\n  WARNING: ${status.reason}\n`);
  },
};
