import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { type PolicyDocument, parsePolicy } from '../../domain/policy.js';

/** containers/image's search: the explicit path, else the per-user file, else the system file. */
export function policyCandidates(explicitPath: string | undefined, homeDir: string): string[] {
  if (explicitPath !== undefined) return [explicitPath];
  return [join(homeDir, '.config/containers/policy.json'), '/etc/containers/policy.json'];
}

/** Reads and parses the first policy.json that exists; none at all is an error (fail closed). */
export async function loadPolicy(explicitPath: string | undefined, homeDir: string): Promise<PolicyDocument> {
  const candidates = policyCandidates(explicitPath, homeDir);
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && explicitPath === undefined) continue;
      throw new ProxyError('policy-invalid', `cannot read policy ${path}: ${code ?? (err as Error).message}`, { cause: err });
    }
    return parsePolicy(text, path);
  }
  throw new ProxyError(
    'policy-invalid',
    `no signature policy found (looked for ${candidates.join(' and ')}); pass --policy FILE, or --insecure-policy to accept any image`,
  );
}
