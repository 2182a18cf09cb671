import { isAbsolute, resolve } from 'node:path';
import { parseImageName, type ImageReference } from '../../domain/reference.js';

/**
 * Parses `transport:reference` as given by a user (command line or `?image=`): local transports
 * name paths, and a relative one means relative to where the proxy was started.
 */
export function parseImageAt(value: string, cwd: string, parse: (value: string) => ImageReference = parseImageName): ImageReference {
  const image = parse(value);
  if (!('path' in image) || isAbsolute(image.path)) return image;
  return { ...image, path: resolve(cwd, image.path) };
}
