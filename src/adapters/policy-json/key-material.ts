import { readFile } from 'node:fs/promises';
import { ProxyError } from '../../domain/errors.js';
import { type KeySource } from '../../domain/policy.js';

/** The bytes of each configured key (file contents or inline data), and how to name each in errors. */
export interface KeyMaterial {
  readonly items: readonly Uint8Array[];
  describe(index: number): string;
}

/** Reads key files when the requirement is evaluated, as containers/image does (not at start-up). */
export async function readKeyMaterial(source: KeySource, policySource: string): Promise<KeyMaterial> {
  if (source.kind === 'data') {
    return { items: source.data, describe: (index) => `${policySource}: inline key data #${index + 1}` };
  }
  const items = await Promise.all(
    source.paths.map((path) =>
      readFile(path).catch((err: NodeJS.ErrnoException) => {
        throw new ProxyError('policy-invalid', `${policySource}: cannot read key file ${path}: ${err.code ?? err.message}`, { cause: err });
      }),
    ),
  );
  return { items, describe: (index) => `key file ${source.paths[index] ?? '?'}` };
}
