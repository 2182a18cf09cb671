import { pipeline } from 'node:stream';
import { type Request, type Response } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { parseDigest, type Digest } from '../../domain/digest.js';
import { type ImageApi } from '../../ports/image-api.js';
import { decompressOf, decryptOf, imageOf } from './query.js';
import { signalForResponse } from './request-signal.js';
import { type ServerHooks } from './server-hooks.js';

const BLOBS_PREFIX = '/blobs/';

/**
 * The digest from the request path. `req.path` is still percent-encoded, so an encoded `/`
 * (`%2F`) is caught after decoding; parseDigest would refuse it too, but the message is clearer.
 */
export function digestFromPath(path: string): Digest {
  const encoded = path.startsWith(BLOBS_PREFIX) ? path.slice(BLOBS_PREFIX.length) : '';
  let value: string;
  try {
    value = decodeURIComponent(encoded);
  } catch (err) {
    throw new ProxyError('bad-request', `invalid digest in ${JSON.stringify(path)}: malformed percent-encoding`, { cause: err });
  }
  if (value === '') throw new ProxyError('bad-request', 'missing digest: expected /blobs/<algorithm>:<hex>');
  if (value.includes('/') || value.includes('..')) {
    throw new ProxyError('bad-request', `invalid digest ${JSON.stringify(value)}: must not contain "/" or ".."`);
  }
  return parseDigest(value);
}

/**
 * Once the blob is found, the 200 headers are committed before the first byte: from then on the
 * only honest way to report a failure (the verified stream's size or digest check) is to tear the
 * connection down, so the client sees fewer bytes than Content-Length and never a complete
 * corrupt body. The source's error listener is attached before pipeline's so `onFatal` runs
 * before the socket is destroyed. A client that hangs up or cancels also ends the source (the
 * response's signal aborts it): that is the client's choice, not a failure of the blob.
 */
export function blobHandler(api: ImageApi, hooks: ServerHooks) {
  return async (req: Request, res: Response): Promise<void> => {
    const digest = digestFromPath(req.path);
    const clientGone = signalForResponse(res);
    let answer;
    try {
      answer = await api.blob(imageOf(req), digest, { decompress: decompressOf(req), decrypt: decryptOf(req) }, clientGone);
    } catch (err) {
      // The client left while its answer was being prepared: nobody to answer, nothing to report.
      if (!clientGone.aborted) throw err;
      res.destroy();
      return;
    }
    const asFatal = (err: Error) => (err instanceof ProxyError ? err : new ProxyError('io', `blob ${digest}: ${err.message}`, { cause: err }));
    // The blob failed its verification before a byte came out (a decompressed read looks at its
    // first bytes before answering): the same failure as later in the body, reported the same way.
    if (answer.stream.errored) {
      hooks.onFatal(asFatal(answer.stream.errored));
      res.destroy();
      return;
    }
    res.status(200).set('Content-Type', 'application/octet-stream');
    // A decompressed layer's length is known only at its end: it goes out chunked, and a failure
    // shows as a connection closed before the terminating chunk.
    if (answer.size !== undefined) res.set('Content-Length', String(answer.size));
    if (req.method === 'HEAD') {
      answer.stream.destroy();
      res.end();
      return;
    }
    let sourceFailed = false;
    answer.stream.once('error', (err) => {
      if (clientGone.aborted) return;
      sourceFailed = true;
      hooks.onFatal(asFatal(err));
    });
    res.flushHeaders();
    pipeline(answer.stream, res, (err) => {
      if (err && !sourceFailed && !clientGone.aborted) hooks.onLog?.(`blob ${digest}: transfer ended early: ${err.message}`);
    });
  };
}
