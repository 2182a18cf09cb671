import { type CredentialStore } from '../../ports/credential-store.js';
import { AuthFileCredentials, type CredentialHelperRunner } from './auth-file-credentials.js';
import { type AuthFilePath } from './auth-file-paths.js';
import { ChainCredentialStore } from './chain-credential-store.js';

/**
 * The built-in `containers-auth.json` credential helper: the given auth files in order, the first
 * usable entry wins, and a file that cannot be read or parsed ends the search with its error.
 */
export function authFileChain(files: readonly AuthFilePath[], runHelper?: CredentialHelperRunner): CredentialStore {
  return new ChainCredentialStore(
    files.map((file) => new AuthFileCredentials({ path: file.path, legacy: file.legacy, runHelper })),
    { stopAtFirstError: true },
  );
}
