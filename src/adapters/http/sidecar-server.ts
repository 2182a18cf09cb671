import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { type Socket } from 'node:net';
import { type Duplex } from 'node:stream';
import { answerClientError, answerConnect } from './client-error.js';
import { HangUps } from './hang-ups.js';

/** How long a request's headers may take from its first byte: long enough for any real client. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;

export interface ServerLimits {
  /** From a request's first byte to the end of its headers; past it the answer is 408 and the connection closes. */
  readonly headersTimeoutMs?: number | undefined;
  /**
   * Set when requests must carry a token: a connection then has the headers timeout, from its
   * accept, to complete its first request, or it is closed. Once it has (and the request was
   * let in: a refused one closes its connection), it may idle for ever like any other.
   */
  readonly firstRequestRequired?: boolean | undefined;
}

/**
 * One HTTP server for every connection of the process, however they arrive (inherited fds or
 * accepted ones), so they share one handler and the caches behind it.
 *
 * Idle connections are never closed: the sidecar's parent may wait minutes between requests, so
 * Node's keep-alive, request and socket timeouts are off. Only a request that has begun and whose
 * headers do not follow is cut (Node's `headersTimeout`). Node starts that clock when a connection
 * is attached to the parser, which would also cut a connection that has not yet sent anything, so
 * a connection is attached only once its first byte is there.
 *
 * Half-closed connections are served: a client may send its requests and shut down its write
 * side, and still gets every answer before the proxy closes its side. An end of stream that comes
 * later, while an answer is awaited, is a hang-up (hang-ups.ts).
 */
export class SidecarServer {
  readonly http: Server;
  private readonly connections = new Set<Socket>();
  private readonly headersTimeoutMs: number;
  private readonly hangUps: HangUps;
  /** Connections still to complete their first request, with the timer that closes them; undefined when none must. */
  private readonly awaitingFirstRequest: Map<Socket, NodeJS.Timeout> | undefined;

  constructor(handler: RequestListener, limits: ServerLimits = {}) {
    const headersTimeoutMs = limits.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    this.headersTimeoutMs = headersTimeoutMs;
    // Expiry is checked at this interval, so a late request is cut between 1 and 1.25 timeouts.
    const checkEveryMs = Math.max(10, Math.floor(headersTimeoutMs / 4));
    const server = createServer({ requireHostHeader: false, connectionsCheckingInterval: checkEveryMs }, handler);
    server.keepAliveTimeout = 0;
    server.requestTimeout = 0;
    server.headersTimeout = headersTimeoutMs;
    server.timeout = 0;
    // Node's switch for answering after the client's FIN (long-standing, absent from its typings):
    // without it a half-close aborts the requests in flight.
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('clientError', (err: Error, socket) => answerClientError(err, socket, headersTimeoutMs));
    this.awaitingFirstRequest = limits.firstRequestRequired === true ? new Map() : undefined;
    if (this.awaitingFirstRequest) server.on('request', (req: IncomingMessage) => this.firstRequestArrived(req.socket));
    // Without a listener Node drops a CONNECT's socket without a word.
    server.on('connect', (req: IncomingMessage, socket: Duplex) => answerConnect(req, socket));
    // Node starts its headers-timeout bookkeeping on 'listening'; this server never listens itself
    // (connections are handed to it), so it is told once here.
    server.emit('listening');
    this.hangUps = new HangUps(server);
    this.http = server;
  }

  /**
   * Serves one connected socket; resolves when it has closed, whichever side closed it. The
   * socket must allow half-open (`allowHalfOpen: true`) for half-closed clients to be answered.
   */
  serve(socket: Socket): Promise<void> {
    this.connections.add(socket);
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.connections.delete(socket);
        this.firstRequestArrived(socket);
        resolve();
      }),
    );
    this.expectFirstRequest(socket);
    this.hangUps.watch(socket);
    // Until Node's server owns the socket, a reset must not become an uncaught error.
    const beforeFirstByte = (): void => undefined;
    socket.on('error', beforeFirstByte);
    socket.once('readable', () => {
      socket.off('error', beforeFirstByte);
      if (!socket.destroyed) this.http.emit('connection', socket);
    });
    return closed;
  }

  /**
   * A connection that has not completed a request within the headers timeout is closed, whether
   * it sent nothing or only part of one: otherwise anyone who can connect could hold every
   * connection slot without knowing the token.
   */
  private expectFirstRequest(socket: Socket): void {
    if (this.awaitingFirstRequest === undefined) return;
    this.awaitingFirstRequest.set(
      socket,
      setTimeout(() => socket.destroy(), this.headersTimeoutMs),
    );
  }

  private firstRequestArrived(socket: Socket): void {
    clearTimeout(this.awaitingFirstRequest?.get(socket));
    this.awaitingFirstRequest?.delete(socket);
  }

  /** Ends every connection now, mid-response or idle: an unfinished body stays short. */
  destroyAll(): void {
    for (const socket of this.connections) socket.destroy();
  }
}
