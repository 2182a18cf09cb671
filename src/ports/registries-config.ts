import { type DockerReference } from '../domain/reference.js';

/** One place to try a pull from: a mirror or the primary, with the settings of its own entry. */
export interface PullSource {
  readonly reference: DockerReference;
  /** Skip TLS verification and allow plain http for this source. */
  readonly insecure: boolean;
  /** registries.conf blocks the host this source contacts. */
  readonly blocked: boolean;
}

/** registries.conf: where a logical reference may be pulled from, in the order to try. */
export interface RegistriesConfig {
  /** Pull sources in the order to try them, the primary last. */
  pullSources(reference: DockerReference): Promise<readonly PullSource[]>;
  /** The `credential-helpers` list (default `["containers-auth.json"]`). */
  credentialHelpers(): Promise<readonly string[]>;
}
