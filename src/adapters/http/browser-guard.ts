import { isIP } from 'node:net';
import { type RequestHandler } from 'express';
import { ProxyError } from '../../domain/errors.js';
import { sendError } from './error-response.js';
import { isLoopbackHost } from './listen-address.js';

/** Headers only browsers send (scripts cannot set `Origin` or any `Sec-` header). */
const BROWSER_HEADERS = ['origin', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user'];

/** The host part of a Host header: `name`, `name:port`, `[v6]` or `[v6]:port`. */
function hostOf(header: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(header);
  if (bracketed) return bracketed[1]!;
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

/**
 * For a TCP listener: refuses what a web page the user visits could send. Any page may make the
 * browser send requests to 127.0.0.1, and with DNS rebinding read the answers (its own name then
 * resolves to 127.0.0.1), so a request is refused when it carries the headers only browsers add,
 * or a Host that names anything but loopback, `localhost` or the address the connection reached
 * (so a proxy exposed on purpose is still reachable by its address). A request without Host is
 * let through: browsers always send one.
 */
export function refuseBrowserRequests(): RequestHandler {
  return (req, res, next) => {
    const sent = BROWSER_HEADERS.find((name) => req.headers[name] !== undefined);
    const host = req.headers.host === undefined ? undefined : hostOf(req.headers.host.trim());
    const foreignHost = host !== undefined && !isLoopbackHost(host) && !(isIP(host) !== 0 && host === req.socket.localAddress);
    if (sent === undefined && !foreignHost) {
      next();
      return;
    }
    const why =
      sent !== undefined
        ? `it carries ${sent}, which only browsers send`
        : `its Host ${JSON.stringify(req.headers.host)} is not a loopback address or localhost`;
    sendError(res, new ProxyError('client-forbidden', `request refused: ${why}; web pages may not use this proxy`), { Connection: 'close' });
  };
}
