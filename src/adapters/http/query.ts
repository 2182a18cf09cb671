import { type Request } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { type ImageName } from '../../ports/image-api.js';

/** The query; a parameter given twice is refused, since which one counts would be a guess. */
function params(req: Request): URLSearchParams {
  const query = req.originalUrl.indexOf('?');
  const parsed = new URLSearchParams(query === -1 ? '' : req.originalUrl.slice(query + 1));
  const names = [...parsed.keys()];
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new ProxyError('bad-request', `query parameter ${JSON.stringify(repeated)} is given more than once`);
  return parsed;
}

/** `?image=TRANSPORT:REFERENCE` (URL-encoded); absent means the command-line image. */
export function imageOf(req: Request): ImageName {
  const image = params(req).get('image');
  if (image === '') throw new ProxyError('bad-request', 'empty image= parameter: expected TRANSPORT:REFERENCE');
  return image ?? undefined;
}

/** `?decompress=true|false`. */
export function decompressOf(req: Request): boolean {
  return booleanParam(req, 'decompress');
}

/** `?decrypt=true|false`. */
export function decryptOf(req: Request): boolean {
  return booleanParam(req, 'decrypt');
}

function booleanParam(req: Request, name: string): boolean {
  const value = params(req).get(name);
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  throw new ProxyError('bad-request', `${name}=${JSON.stringify(value)}: expected true or false`);
}
