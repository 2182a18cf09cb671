import { type DockerReference } from '../../domain/reference.js';
import { type PullSource, type RegistriesConfig } from '../../ports/registries-config.js';

/** No registries.conf: every reference is pulled from where it names, with the default helpers. */
export class NoRegistriesConfig implements RegistriesConfig {
  async pullSources(reference: DockerReference): Promise<readonly PullSource[]> {
    return [{ reference, insecure: false, blocked: false }];
  }

  async credentialHelpers(): Promise<readonly string[]> {
    return ['containers-auth.json'];
  }
}
