import { stat } from 'node:fs/promises';
import { ProxyError } from '../../domain/errors.js';

/** A file or directory named by a command-line option. */
export interface NamedPath {
  /** The option as spelled in messages, e.g. `--authfile`. */
  readonly option: string;
  /** Absolute. */
  readonly path: string;
  readonly kind: 'file' | 'directory';
}

/**
 * Refuses to start when a path the command line names is missing or of the wrong kind: a typo
 * in `--authfile` must not quietly become an anonymous pull, nor one in `--cert-dir` a TLS failure
 * at the first request.
 */
export async function checkNamedPaths(paths: readonly NamedPath[]): Promise<void> {
  for (const { option, path, kind } of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' || code === 'ENOTDIR' ? `no such ${kind}` : `cannot be read (${code ?? 'error'})`;
      throw new ProxyError('config-invalid', `${option} ${path}: ${why}`, { cause: err });
    }
    if (isDirectory !== (kind === 'directory')) throw new ProxyError('config-invalid', `${option} ${path}: not a ${kind}`);
  }
}
