import { fstatSync } from 'node:fs';
import { type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, Socket, type SocketConstructorOpts } from 'node:net';
import { type DuplexOptions } from 'node:stream';
import { ProxyError } from '../../domain/errors.js';
import { isLoopbackHost, type ListenAddress } from './listen-address.js';
import { type ServerLimits, SidecarServer } from './sidecar-server.js';
import { clearStaleSocket, withOwnerOnlyUmask } from './unix-socket.js';

/**
 * How much verified data a connection may queue for its socket before the blob stream is paused:
 * the proxy runs this far ahead of a reader that is busy (hashing its last read, say). With
 * Node's default (64 KiB) every short stall of the reader paused and resumed the whole chain up
 * to the registry socket; at 1 MiB the writes go out in larger writevs and the proxy used ~10 %
 * less CPU per GiB (bench/README.md). It bounds memory too: per connection, at most this much
 * beyond the kernel's own socket buffer.
 */
export const SOCKET_RUN_AHEAD_BYTES = 1024 * 1024;

export function isSocketFd(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

export interface InheritedConnections {
  /** Resolves when every connection has closed, whichever side closed it. */
  readonly closed: Promise<void>;
  /** Ends every connection now; unfinished answers stay short. */
  destroyAll(): void;
}

/**
 * Serves every inherited, already-connected socket concurrently through one server (so one
 * handler and whatever it shares: image cache, tokens). Each connection answers its own
 * pipelined requests in order, and ends on its own: a peer that hangs up ends only its
 * connection. All fds are checked before any is served.
 */
export function serveInheritedSockets(handler: RequestListener, fds: readonly number[], limits: ServerLimits = {}): InheritedConnections {
  if (fds.length === 0) throw new ProxyError('io', 'no file descriptor to serve');
  const unusable = fds.filter((fd) => !isSocketFd(fd));
  if (unusable.length > 0) {
    throw new ProxyError(
      'io',
      `file descriptor${unusable.length > 1 ? 's' : ''} ${unusable.join(', ')} ${unusable.length > 1 ? 'are not open sockets' : 'is not an open socket'}`,
    );
  }
  const server = new SidecarServer(handler, limits);
  // net.Socket hands stream options on to its Duplex; @types/node does not declare them.
  const socketOptions = (fd: number): SocketConstructorOpts & Pick<DuplexOptions, 'writableHighWaterMark'> => ({
    fd,
    readable: true,
    writable: true,
    allowHalfOpen: true,
    writableHighWaterMark: SOCKET_RUN_AHEAD_BYTES,
  });
  const closed = Promise.all(fds.map((fd) => server.serve(new Socket(socketOptions(fd)))));
  return { closed: closed.then(() => undefined), destroyAll: () => server.destroyAll() };
}

export interface ListenOptions extends ServerLimits {
  /** Connections beyond this are closed as soon as they are accepted (default: no limit). */
  readonly maxConnections?: number | undefined;
  /** Refuse to serve when the bound address is not loopback (a name like `localhost` resolved elsewhere). */
  readonly loopbackOnly?: boolean | undefined;
}

export interface ListeningServer {
  readonly server: Server;
  /** Where it listens, e.g. `127.0.0.1:41234` or `unix:/run/proxy.sock`. */
  readonly description: string;
  /** Stops accepting, ends every connection (unfinished answers stay short), removes a unix socket file. */
  close(): Promise<void>;
  /** Resolves once closed, by `close()` or otherwise. */
  readonly closed: Promise<void>;
}

/**
 * Accepts connections on a TCP address or a unix socket (created owner-only, replacing a stale
 * one left by a killed proxy). A failed response ends only its own connection.
 */
export async function listenOn(handler: RequestListener, address: ListenAddress, options: ListenOptions = {}): Promise<ListeningServer> {
  const sidecar = new SidecarServer(handler, options);
  const acceptor = createNetServer({ allowHalfOpen: true, noDelay: true, highWaterMark: SOCKET_RUN_AHEAD_BYTES }, (socket) => void sidecar.serve(socket));
  if (options.maxConnections !== undefined) acceptor.maxConnections = options.maxConnections;
  if (address.kind === 'unix') await clearStaleSocket(address.path);
  await bind(acceptor, address);
  // From here on an accept can fail (EMFILE when libuv cannot shed the connection itself): that
  // one connection is lost, the server and its other connections go on.
  acceptor.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => acceptor.once('close', () => resolve()));
  const close = () => {
    if (acceptor.listening) acceptor.close();
    sidecar.destroyAll();
    return closed;
  };
  const bound = acceptor.address();
  if (options.loopbackOnly === true && typeof bound === 'object' && bound !== null && !isLoopbackHost(bound.address)) {
    await close();
    throw new ProxyError('io', `cannot listen on ${describeAddress(address)}: it is bound to ${bound.address}, which is not loopback`);
  }
  const description = typeof bound === 'object' && bound !== null ? describeBound(bound) : describeAddress(address);
  return { server: sidecar.http, description, close, closed };
}

function bind(acceptor: NetServer, address: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    acceptor.once('error', reject);
    const ready = () => {
      acceptor.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') withOwnerOnlyUmask(() => acceptor.listen(address.path, ready));
    else acceptor.listen(address.port, address.host, ready);
  }).catch((err: unknown) => {
    throw new ProxyError('io', `cannot listen on ${describeAddress(address)}: ${(err as Error).message}`, { cause: err });
  });
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
