/**
 * A Docker Engine API endpoint, decided by the command line and the environment.
 * `description` says where it came from, for messages (`tcp://10.0.0.5:2376 ($DOCKER_HOST)`).
 */
export type EngineEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly description: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls: EngineTls | undefined; readonly description: string };

/** TLS to the engine as Docker sets it up: `ca.pem`, `cert.pem` and `key.pem` in one directory, each used when present. */
export interface EngineTls {
  readonly certDir: string;
}
