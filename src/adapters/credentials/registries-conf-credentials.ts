/**
 * The credential chain registries.conf configures (`credential-helpers`, by default
 * `["containers-auth.json"]`): the reserved name is the auth-file chain, any other name a
 * docker-credential helper. The first store with credentials wins; a failing store does not stop
 * the walk, but when nothing is found its failure is reported (containers/image's
 * `getCredentialsWithHomeDir`).
 *
 * The list is read from registries.conf on first lookup, not at construction.
 */
import { AUTH_FILE_HELPER } from '../../domain/registries/registries-conf.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';
import { type RegistriesConfig } from '../../ports/registries-config.js';
import { ChainCredentialStore } from './chain-credential-store.js';
import { type CredentialHelper, CredentialHelperStore } from './credential-helper.js';

export interface RegistriesConfCredentialsOptions {
  readonly registries: RegistriesConfig;
  /** What `containers-auth.json` stands for: the auth files, or the one `--authfile`. */
  readonly authFiles: CredentialStore;
  readonly helpers: CredentialHelper;
}

export class RegistriesConfCredentials implements CredentialStore {
  private chain: Promise<CredentialStore> | undefined;

  constructor(private readonly options: RegistriesConfCredentialsOptions) {}

  async lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined> {
    signal?.throwIfAborted();
    return (await this.build()).lookup(target, signal);
  }

  private build(): Promise<CredentialStore> {
    this.chain ??= this.options.registries
      .credentialHelpers()
      .then(
        (names) =>
          new ChainCredentialStore(
            names.map((name) => (name === AUTH_FILE_HELPER ? this.options.authFiles : new CredentialHelperStore(name, this.options.helpers))),
          ),
      );
    return this.chain;
  }
}
