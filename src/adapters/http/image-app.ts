import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { type ImageApi } from '../../ports/image-api.js';
import { blobHandler } from './blob-handler.js';
import { asProxyError, sendError } from './error-response.js';
import { signalForResponse } from './request-signal.js';
import { type ServerHooks } from './server-hooks.js';

export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

type AsyncHandler = (req: Request, res: Response) => Promise<void>;

/** Express 5 forwards rejections to the error middleware; this only narrows the type. */
const handle = (fn: AsyncHandler): RequestHandler => (req, res, next) => fn(req, res).catch(next);

function methodNotAllowed(allowed: string): RequestHandler {
  return (req, res) => {
    const err = new ProxyError('method-not-allowed', `${req.method} is not allowed on ${req.path}; use ${allowed}`);
    sendError(res, err, { Allow: allowed });
  };
}

/**
 * The proxy's HTTP API over one ImageApi. No etag, no x-powered-by, no compression and no body
 * parsing: every answer is written with an exact Content-Length so a keep-alive client never
 * has to guess where a response ends.
 */
export function createImageApp(api: ImageApi, hooks: ServerHooks): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  app
    .route('/manifest')
    .get(
      handle(async (_req, res) => {
        const answer = await api.manifest(signalForResponse(res));
        res.status(200).set({
          'Content-Type': OCI_MANIFEST_MEDIA_TYPE,
          'Content-Length': String(answer.body.byteLength),
          'Manifest-Digest': answer.manifestDigest,
          'Instance-Digest': answer.instanceDigest,
        });
        res.end(answer.body);
      }),
    )
    .all(methodNotAllowed('GET, HEAD'));

  app
    .route('/config')
    .get(
      handle(async (_req, res) => {
        const config = await api.config(signalForResponse(res));
        res.status(200).set({ 'Content-Type': OCI_CONFIG_MEDIA_TYPE, 'Content-Length': String(config.byteLength) });
        res.end(config);
      }),
    )
    .all(methodNotAllowed('GET, HEAD'));

  app.route('/blobs{/*digest}').get(handle(blobHandler(api, hooks))).all(methodNotAllowed('GET, HEAD'));

  app
    .route('/quit')
    .post((_req, res) => {
      res.status(200).set({ 'Content-Length': '0', Connection: 'close' });
      res.end(() => hooks.onQuit());
    })
    .all(methodNotAllowed('POST'));

  app.use((req: Request, res: Response) => {
    sendError(res, new ProxyError('not-found', `no such endpoint: ${req.method} ${req.path}`));
  });

  // Express recognises error middleware by its four parameters, so `_next` must stay.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const proxyError = asProxyError(err);
    hooks.onLog?.(`${req.method} ${req.path}: ${proxyError.code}: ${proxyError.message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, proxyError);
  });

  return app;
}
