import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { type ImageApi } from '../../ports/image-api.js';
import { requireClientToken } from './client-token.js';
import { blobHandler } from './blob-handler.js';
import { refuseBrowserRequests } from './browser-guard.js';
import { asProxyError, sendError } from './error-response.js';
import { imageOf } from './query.js';
import { signalForResponse } from './request-signal.js';
import { type ServerHooks } from './server-hooks.js';
import { signaturesHandler } from './signatures-handler.js';

/**
 * The HTTP API's own version: 1.0 is /manifest, /config, /blobs, /signatures and /quit for the
 * image named on the command line; 1.1 adds ?image=, /layers, ?decompress=true, /close, /version.
 */
export const API_VERSION = '1.1';

function sendJson(res: Response, value: unknown): void {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  res.status(200).set({ 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

type AsyncHandler = (req: Request, res: Response) => Promise<void>;

/** Express 5 forwards rejections to the error middleware; this only narrows the type. */
const handle =
  (fn: AsyncHandler): RequestHandler =>
  (req, res, next) =>
    fn(req, res).catch(next);

function methodNotAllowed(allowed: string): RequestHandler {
  return (req, res) => {
    const err = new ProxyError('method-not-allowed', `${req.method} is not allowed on ${req.path}; use ${allowed}`);
    sendError(res, err, { Allow: allowed });
  };
}

export interface AppOptions {
  readonly version: string;
  /** When set, every request must carry `Authorization: Bearer <clientToken>`. */
  readonly clientToken?: string | undefined;
  /** For a TCP listener: refuse requests a web page could have made (see browser-guard.ts). */
  readonly refuseBrowsers?: boolean | undefined;
}

/**
 * The proxy's HTTP API over one ImageApi. No etag, no x-powered-by, no compression and no body
 * parsing: every answer is written with an exact Content-Length so a keep-alive client never
 * has to guess where a response ends.
 */
export function createImageApp(api: ImageApi, hooks: ServerHooks, info: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  if (info.refuseBrowsers === true) app.use(refuseBrowserRequests());
  if (info.clientToken !== undefined) app.use(requireClientToken(info.clientToken));

  app
    .route('/manifest')
    .get(
      handle(async (req, res) => {
        const answer = await api.manifest(imageOf(req), signalForResponse(res));
        res.status(200).set({
          'Content-Type': MediaType.ociManifest,
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
      handle(async (req, res) => {
        const config = await api.config(imageOf(req), signalForResponse(res));
        res.status(200).set({ 'Content-Type': MediaType.ociConfig, 'Content-Length': String(config.byteLength) });
        res.end(config);
      }),
    )
    .all(methodNotAllowed('GET, HEAD'));

  app
    .route('/layers')
    .get(handle(async (req, res) => sendJson(res, await api.layers(imageOf(req), signalForResponse(res)))))
    .all(methodNotAllowed('GET, HEAD'));

  app
    .route('/close')
    .post(
      handle(async (req, res) => {
        const image = imageOf(req);
        if (image === undefined) throw new ProxyError('bad-request', 'POST /close needs ?image=TRANSPORT:REFERENCE');
        await api.close(image);
        res.status(200).set({ 'Content-Length': '0' }).end();
      }),
    )
    .all(methodNotAllowed('POST'));

  app
    .route('/version')
    .get((_req, res) => sendJson(res, { version: info.version, apiVersion: API_VERSION }))
    .all(methodNotAllowed('GET, HEAD'));

  app
    .route('/signatures')
    .get(handle(signaturesHandler(api)))
    .all(methodNotAllowed('GET, HEAD'));

  app
    .route('/blobs{/*digest}')
    .get(handle(blobHandler(api, hooks)))
    .all(methodNotAllowed('GET, HEAD'));

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
    // The client hung up or cancelled while its answer was being prepared: nobody to answer, nothing to report.
    if (req.socket.destroyed) {
      res.destroy();
      return;
    }
    const proxyError = asProxyError(err);
    // A missing image is an answer (skopeo's OpenImageOptional), not something to report.
    if (proxyError.code !== 'image-not-found') hooks.onLog?.(`${req.method} ${req.path}: ${proxyError.code}: ${proxyError.message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, proxyError);
  });

  return app;
}
