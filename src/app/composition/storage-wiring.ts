import { type DefaultStore, loadDefaultStore } from '../../adapters/containers-storage/storage-conf.js';
import { StorageTransport } from '../../adapters/containers-storage/storage-transport.js';
import { type Platform } from '../../domain/platform.js';
import { type Transport } from '../../ports/transport.js';
import { type ProxyOptions } from './options.js';

/**
 * The containers-storage: transport. storage.conf is read when a reference first needs the
 * default store, once per process; a reference that names its whole store never reads it.
 */
export function storageTransportFor(options: ProxyOptions, platforms: readonly Platform[]): Transport {
  let defaults: Promise<DefaultStore> | undefined;
  const defaultStore = () => {
    defaults ??= loadDefaultStore({ env: options.env, homeDir: options.homeDir, uid: options.uid ?? process.getuid?.() ?? 0 });
    // A failure is not kept: the next reference reports it again (or finds the file fixed).
    defaults.catch(() => (defaults = undefined));
    return defaults;
  };
  return new StorageTransport({ defaultStore, platforms });
}
