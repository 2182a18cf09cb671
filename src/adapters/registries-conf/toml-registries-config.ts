import { mergeRegistriesConf } from '../../domain/registries/merge.js';
import { pullSourcesFor } from '../../domain/registries/pull-sources.js';
import { type RegistriesConf } from '../../domain/registries/registries-conf.js';
import { type DockerReference } from '../../domain/reference.js';
import { type PullSource, type RegistriesConfig } from '../../ports/registries-config.js';
import { type RegistriesConfLocations } from './registries-conf-files.js';

export type TomlRegistriesConfigOptions = RegistriesConfLocations;

/**
 * registries.conf and its drop-ins, read on first use and kept for the instance's lifetime (as
 * c/image caches them per process). A broken file fails every later call with the same error.
 */
export class TomlRegistriesConfig implements RegistriesConfig {
  private conf: Promise<RegistriesConf> | undefined;

  constructor(private readonly options: TomlRegistriesConfigOptions) {}

  async pullSources(reference: DockerReference, signal?: AbortSignal): Promise<readonly PullSource[]> {
    return pullSourcesFor(await this.load(signal), reference);
  }

  async credentialHelpers(signal?: AbortSignal): Promise<readonly string[]> {
    return (await this.load(signal)).credentialHelpers;
  }

  /** The whole effective configuration, e.g. for short-name resolution. */
  async configuration(signal?: AbortSignal): Promise<RegistriesConf> {
    return this.load(signal);
  }

  private async load(signal?: AbortSignal): Promise<RegistriesConf> {
    signal?.throwIfAborted();
    // The shared read is not tied to one caller's signal. The TOML parser is imported here so
    // that images which never consult registries.conf (local layouts, archives) do not load it.
    this.conf ??= import('./registries-conf-files.js').then(({ readRegistriesConfFiles }) => readRegistriesConfFiles(this.options)).then(mergeRegistriesConf);
    return this.conf;
  }
}
