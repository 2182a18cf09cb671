import { fstatSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { ProxyError } from '../../domain/errors.js';

export type ListenAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/**
 * A server that never closes an idle connection on its own: the sidecar's parent may wait minutes
 * between requests, and Node's defaults (keep-alive 5 s, request and headers timeouts) would cut
 * it. Any Host header is accepted, including none.
 */
export function createSidecarServer(handler: RequestListener): Server {
  const server = createServer({ requireHostHeader: false }, handler);
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.timeout = 0;
  return server;
}

export function isSocketFd(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/**
 * Serves HTTP on one already-connected socket inherited from the parent (no listen). Resolves
 * when the connection closes, whichever side closed it.
 */
export async function serveInheritedSocket(handler: RequestListener, fd: number): Promise<void> {
  return serveInheritedSockets(handler, [fd]);
}

/**
 * Serves every inherited socket concurrently through one server (so one handler and whatever it
 * shares: image cache, tokens). Each connection answers its own pipelined requests in order, as
 * Node's HTTP/1.1 server does. All fds are checked before any is served; resolves when every
 * connection has closed.
 */
export async function serveInheritedSockets(handler: RequestListener, fds: readonly number[]): Promise<void> {
  if (fds.length === 0) throw new ProxyError('io', 'no file descriptor to serve');
  const unusable = fds.filter((fd) => !isSocketFd(fd));
  if (unusable.length > 0) {
    throw new ProxyError('io', `file descriptor${unusable.length > 1 ? 's' : ''} ${unusable.join(', ')} ${unusable.length > 1 ? 'are not open sockets' : 'is not an open socket'}`);
  }
  const server = createSidecarServer(handler);
  const closed = fds.map((fd) => {
    const socket = new Socket({ fd, readable: true, writable: true });
    return new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      server.emit('connection', socket);
    });
  });
  await Promise.all(closed);
  server.close();
}

export interface ListeningServer {
  readonly server: Server;
  /** Where it listens, e.g. `127.0.0.1:41234` or `unix:/run/proxy.sock`. */
  readonly description: string;
  close(): Promise<void>;
}

/** Accepts any number of connections; a failed response ends only its own connection. */
export async function listenOn(handler: RequestListener, address: ListenAddress): Promise<ListeningServer> {
  const server = createSidecarServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, ready);
    else server.listen(address.port, address.host, ready);
  }).catch((err: unknown) => {
    throw new ProxyError('io', `cannot listen on ${describeAddress(address)}: ${(err as Error).message}`, { cause: err });
  });
  const bound = server.address();
  const description = typeof bound === 'object' && bound !== null ? describeBound(bound) : describeAddress(address);
  return {
    server,
    description,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function describeAddress(address: ListenAddress): string {
  return address.kind === 'unix' ? `unix:${address.path}` : `${formatHost(address.host)}:${address.port}`;
}

function describeBound(bound: AddressInfo): string {
  return `${formatHost(bound.address)}:${bound.port}`;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
