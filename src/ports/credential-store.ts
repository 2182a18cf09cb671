/** Secrets for one registry. Never logged, never put into error messages. */
export interface Credentials {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** OAuth2 refresh token (auth.json `identitytoken`, or a helper's `<token>` user). */
  readonly identityToken?: string | undefined;
  /** A bearer token to send as is (`--registry-token`). */
  readonly registryToken?: string | undefined;
  /**
   * Where these came from, for logs and for the message when a registry refuses them:
   * `--creds`, `auth file /path, key "quay.io/org"`, `credential helper docker-credential-x`.
   * Never a secret.
   */
  readonly source?: string | undefined;
}

/** Whom the credentials are for: the physical registry actually contacted. */
export interface CredentialTarget {
  /** `host[:port]` as written in references, e.g. `docker.io`, `localhost:5000`. */
  readonly registry: string;
  /** Full repository name, e.g. `quay.io/ns/repo`, for namespace-scoped auth entries. */
  readonly repository: string;
  /**
   * The registry of the reference as the user wrote it, when known; `registry` differs from it
   * when registries.conf sends the pull to a mirror or another location. Credentials meant only
   * for the requested registry (given on the command line) are not sent to another domain.
   */
  readonly requestedRegistry?: string | undefined;
}

/** Finds credentials. Composites chain stores; `undefined` means "none here, ask the next". */
export interface CredentialStore {
  lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined>;
}
