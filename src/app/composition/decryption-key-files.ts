import { ProxyError } from '../../domain/errors.js';
import { readFirstChunk } from '../../adapters/file-system/inherited-fd.js';
import { readRegularFile } from '../../adapters/file-system/regular-file.js';
import { type DecryptionKey, KeyFileProblem, parseDecryptionKey } from '../../adapters/ocicrypt/decryption-keys.js';

export { KeyFileProblem };

/** Where a key's password comes from: ocicrypt's `pass=P`, `file=F`, `fd=N`, or the text itself. */
export type PasswordSource =
  { readonly kind: 'value'; readonly value: string } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'fd'; readonly fd: number };

/** One `--decryption-key FILE[:PASSWORD]`, as read from argv (nothing is read from disk yet). */
export interface DecryptionKeySpec {
  /** Absolute. */
  readonly path: string;
  readonly password?: PasswordSource | undefined;
}

/** Key files and password files are small; anything larger is not one. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;
/** How long a parent has to write a password to the `fd=N` it passed (it writes before or right after spawning). */
const PASSWORD_FD_WAIT_MS = 5000;

/** Reads and parses every key at start; a key that cannot be used is a KeyFileProblem naming its file. */
export async function readDecryptionKeys(specs: readonly DecryptionKeySpec[]): Promise<DecryptionKey[]> {
  const keys: DecryptionKey[] = [];
  for (const spec of specs) {
    const bytes = await readSmallFile(spec.path, `--decryption-key ${spec.path}`);
    const password = spec.password === undefined ? undefined : await readPassword(spec.password, spec.path);
    keys.push(await parseDecryptionKey(`--decryption-key ${spec.path}`, bytes, password));
  }
  return keys;
}

async function readPassword(source: PasswordSource, keyPath: string): Promise<Uint8Array> {
  switch (source.kind) {
    case 'value':
      return Buffer.from(source.value, 'utf8');
    // As ocicrypt reads them: the bytes as they are, a final newline included; from fd=N, one read.
    case 'file':
      return readSmallFile(source.path, `--decryption-key ${keyPath}: password file ${source.path}`);
    case 'fd':
      try {
        return await readFirstChunk(source.fd, PASSWORD_FD_WAIT_MS);
      } catch (err) {
        throw new KeyFileProblem(`--decryption-key ${keyPath}: cannot read the password from file descriptor ${source.fd} (${(err as Error).message})`);
      }
  }
}

async function readSmallFile(path: string, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readRegularFile(path, MAX_KEY_FILE_BYTES);
  } catch (err) {
    // A FIFO, device or directory: the file-system adapter's message says which.
    if (err instanceof ProxyError) throw new KeyFileProblem(`${what}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileProblem(`${what}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`}`);
  }
  if (bytes === undefined) throw new KeyFileProblem(`${what}: larger than ${MAX_KEY_FILE_BYTES} bytes, so not a key file`);
  return bytes;
}
