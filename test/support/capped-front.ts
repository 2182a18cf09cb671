/**
 * A TCP front for a registry on loopback that behaves like one far away behind a CDN: each
 * connection's answers are paced to `bytesPerSecond` (a token bucket per connection, as object
 * stores and CDNs cap a single stream) and everything the client sends reaches the registry
 * `delayMs` later, so every request pays that much more round trip. Bytes pass unchanged, so
 * TLS, keep-alive and every status behave as behind the registry itself.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface FrontOptions {
  /** Where the registry listens. */
  readonly target: { readonly host: string; readonly port: number };
  /** Each connection's cap from the registry to the client. */
  readonly bytesPerSecond: number;
  /** Added to everything the client sends, i.e. to each request. */
  readonly delayMs: number;
}

export interface CappedFront {
  /** `127.0.0.1:PORT`, to put in references instead of the registry's. */
  readonly host: string;
  /** Connections the front has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Burst a connection may send after a pause: small, so the cap holds over any interval worth measuring. */
const BURST_BYTES = 64 * 1024;

function paceDownstream(from: Socket, to: Socket, bytesPerSecond: number): void {
  let tokens = BURST_BYTES;
  let last = performance.now();
  let waiting: NodeJS.Timeout | undefined;
  from.on('data', (chunk: Buffer) => {
    const now = performance.now();
    tokens = Math.min(BURST_BYTES, tokens + ((now - last) / 1000) * bytesPerSecond);
    last = now;
    tokens -= chunk.length;
    const flushed = to.write(chunk);
    if (tokens < 0 || !flushed) {
      from.pause();
      const resume = (): void => {
        waiting = undefined;
        if (to.writableNeedDrain) to.once('drain', () => from.resume());
        else from.resume();
      };
      waiting = setTimeout(resume, tokens < 0 ? (-tokens / bytesPerSecond) * 1000 : 0);
    }
  });
  from.once('end', () => to.end());
  to.once('close', () => clearTimeout(waiting));
}

function delayUpstream(from: Socket, to: Socket, delayMs: number): void {
  const timers = new Set<NodeJS.Timeout>();
  from.on('data', (chunk: Buffer) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
    timers.add(timer);
  });
  from.once('end', () => {
    const timer = setTimeout(() => to.end(), delayMs);
    timers.add(timer);
  });
  from.once('close', () => setTimeout(() => timers.forEach(clearTimeout), delayMs + 1));
}

export async function startCappedFront(options: FrontOptions): Promise<CappedFront> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const registry = connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true });
    for (const socket of [client, registry]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        client.destroy();
        registry.destroy();
      });
    }
    client.setNoDelay(true);
    registry.setNoDelay(true);
    delayUpstream(client, registry, options.delayMs);
    paceDownstream(registry, client, options.bytesPerSecond);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
