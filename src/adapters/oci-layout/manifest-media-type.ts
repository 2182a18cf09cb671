import { ProxyError } from '../../domain/errors.js';
import { guessManifestMediaType } from '../../domain/manifest.js';
import { parseJsonFile } from './local-files.js';

/**
 * The media type of a manifest stored without one beside it (dir:, an index entry that declares
 * none), guessed from its content as containers/image does (GuessMIMEType); '' when the content
 * does not tell. A file that is not a JSON object is refused here, where its name is known.
 */
export function guessedMediaType(bytes: Uint8Array, path: string): string {
  const value = parseJsonFile(bytes, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError('manifest-invalid', `${path} is not a JSON object`);
  }
  return guessManifestMediaType(bytes);
}
