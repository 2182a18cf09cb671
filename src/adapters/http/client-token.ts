import { createHash, timingSafeEqual } from 'node:crypto';
import { type RequestHandler } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { sendError } from './error-response.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Lets through only requests with `Authorization: Bearer <token>`. Compared as hashes in
 * constant time, so neither the token's length nor its prefix shows in response times; the token
 * never appears in an answer. A refusal closes the connection: only connections that have shown
 * the token may stay open idle, so nobody without it can hold connection slots.
 */
export function requireClientToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) {
      next();
      return;
    }
    const why = match ? 'the bearer token is not the one this proxy was given' : 'this proxy requires Authorization: Bearer <token>';
    sendError(res, new ProxyError('client-unauthorized', why), { 'WWW-Authenticate': 'Bearer realm="container-image-proxy"', Connection: 'close' });
  };
}
