import { ProxyError } from '../../domain/errors.js';
import { parseJsonFile } from './local-files.js';

/**
 * The media type a manifest declares in its own `mediaType` field, for sources that store none
 * beside it; '' when the manifest has no such field (the use case then decides).
 */
export function declaredMediaType(bytes: Uint8Array, path: string): string {
  const value = parseJsonFile(bytes, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError('manifest-invalid', `${path} is not a JSON object`);
  }
  const mediaType = (value as { mediaType?: unknown }).mediaType;
  return typeof mediaType === 'string' ? mediaType : '';
}
