import { resolve } from 'node:path';
import { type DecryptionKeySpec, type PasswordSource } from '../composition/decryption-key-files.js';
import { UsageProblem } from './cli-scan.js';

/**
 * `--decryption-key FILE[:PASSWORD]`, repeatable, as skopeo takes it: FILE ends at the first
 * `:`. Messages name FILE and never the password.
 */
export function decryptionKeySpecs(values: readonly string[], cwd: string): DecryptionKeySpec[] {
  return values.map((value) => {
    const colon = value.indexOf(':');
    const file = colon === -1 ? value : value.slice(0, colon);
    if (file === '') throw new UsageProblem('--decryption-key needs a key file: FILE[:PASSWORD]');
    if (file === 'provider') throw new UsageProblem('--decryption-key provider:…: key providers are not supported, only key files');
    const path = resolve(cwd, file);
    return colon === -1 ? { path } : { path, password: passwordSource(value.slice(colon + 1), path, cwd) };
  });
}

function passwordSource(text: string, path: string, cwd: string): PasswordSource {
  if (text.startsWith('pass=')) return { kind: 'value', value: text.slice('pass='.length) };
  if (text.startsWith('file=')) return { kind: 'file', path: resolve(cwd, text.slice('file='.length)) };
  if (text.startsWith('fd=')) {
    const fd = text.slice('fd='.length);
    if (!/^\d+$/.test(fd)) throw new UsageProblem(`--decryption-key ${path}:fd=…: expected a file descriptor number`);
    return { kind: 'fd', fd: Number(fd) };
  }
  return { kind: 'value', value: text };
}
