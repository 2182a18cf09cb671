import { type Request, type Response } from 'express';
import { type ImageApi } from '../../ports/image-api.js';
import { imageOf } from './query.js';
import { signalForResponse } from './request-signal.js';

/**
 * `GET /signatures[?image=]`: the signature policy's verdict on the image, recorded when it was
 * resolved (resolving it now if needed). A rejected image never gets here: resolving it fails
 * with 403 `policy-rejected`, as on every other endpoint.
 */
export function signaturesHandler(api: ImageApi): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const verdict = await api.signatures(imageOf(req), signalForResponse(res));
    const body = Buffer.from(JSON.stringify(verdict), 'utf8');
    res.status(200).set({ 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    res.end(body);
  };
}
