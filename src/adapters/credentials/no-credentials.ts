/**
 * `--no-creds`: an explicit "anonymous" answer.
 *
 * The `CredentialStore` port has two kinds of answer: `undefined` ("nothing here, ask the next
 * store") and a `Credentials` object, which ends the search. `ANONYMOUS` is the empty object,
 * so a chain stops at it exactly as it stops at real credentials, and a transport given it
 * behaves as with no credentials at all (as c/image does with an empty DockerAuthConfig: a Basic
 * challenge still gets `Basic Og==`, a token is requested without Authorization). No marker field
 * is needed: "found, and it is nothing" is what an empty object already says.
 */
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';

export const ANONYMOUS: Credentials = Object.freeze({});

export class NoCredentials implements CredentialStore {
  async lookup(_target: CredentialTarget, signal?: AbortSignal): Promise<Credentials> {
    signal?.throwIfAborted();
    return ANONYMOUS;
  }
}
