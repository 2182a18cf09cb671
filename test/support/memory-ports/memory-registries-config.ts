import { parse } from 'smol-toml';
import { mergeRegistriesConf } from '../../../src/domain/registries/merge.js';
import { parseRegistriesConfFile } from '../../../src/domain/registries/parse-file.js';
import { pullSourcesFor } from '../../../src/domain/registries/pull-sources.js';
import { EMPTY_REGISTRIES_CONF, type RegistriesConf } from '../../../src/domain/registries/registries-conf.js';
import { type DockerReference } from '../../../src/domain/reference.js';
import { type PullSource, type RegistriesConfig } from '../../../src/ports/registries-config.js';

/**
 * registries.conf held in memory: the text is parsed and applied by the same domain rules as
 * the file-reading adapter (mirrors by tag or digest, blocked hosts, prefixes and rewrites), but
 * nothing is read from disk. Empty, it sends every pull to the reference itself.
 */
export class MemoryRegistriesConfig implements RegistriesConfig {
  constructor(private readonly conf: RegistriesConf = EMPTY_REGISTRIES_CONF) {}

  /** `toml` as the main registries.conf would say it. */
  static fromToml(toml: string): MemoryRegistriesConfig {
    return new MemoryRegistriesConfig(mergeRegistriesConf([parseRegistriesConfFile(parse(toml), 'registries.conf (in memory)', 'main')]));
  }

  async pullSources(reference: DockerReference): Promise<readonly PullSource[]> {
    return pullSourcesFor(this.conf, reference);
  }

  async credentialHelpers(): Promise<readonly string[]> {
    return this.conf.credentialHelpers;
  }
}
