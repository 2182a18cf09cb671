import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';

/**
 * How soon after its last request a client's end of stream still means "that is all I send"
 * (a half-close: `shutdown(SHUT_WR)` right after the requests) rather than "I am gone". Generous,
 * because on a busy machine the end of stream can be read well after the requests it followed.
 */
export const HALF_CLOSE_WINDOW_MS = 500;

interface Exchanges {
  /** Answers begun on this connection and not yet finished. */
  pending: number;
  lastRequestAt: number;
}

/**
 * Tells a client that hangs up from one that half-closes. Both show as the same end of stream:
 * on a socket, a peer that closed and a peer that only shut down its write side look alike until
 * something is written to them, and an answer still waiting for the registry writes nothing. A
 * half-closing client shuts down as it sends its requests; a client that gives up does so later,
 * while it waits. So an end of stream with an answer pending, more than HALF_CLOSE_WINDOW_MS after
 * the last request, destroys the connection: each pending answer's signal then aborts the
 * registry work behind it (retries and backoff included) instead of letting it run for nobody.
 */
export class HangUps {
  private readonly exchanges = new WeakMap<Socket, Exchanges>();

  constructor(
    server: Server,
    private readonly now: () => number = () => performance.now(),
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.began(req.socket as Socket, res));
  }

  /** Watches one served socket's end of stream. */
  watch(socket: Socket): void {
    socket.once('end', () => {
      const exchanges = this.exchanges.get(socket);
      if (exchanges === undefined || exchanges.pending === 0) return;
      if (this.now() - exchanges.lastRequestAt > HALF_CLOSE_WINDOW_MS) socket.destroy();
    });
  }

  private began(socket: Socket, res: ServerResponse): void {
    let exchanges = this.exchanges.get(socket);
    if (exchanges === undefined) {
      exchanges = { pending: 0, lastRequestAt: 0 };
      this.exchanges.set(socket, exchanges);
    }
    const tracked = exchanges;
    tracked.pending++;
    tracked.lastRequestAt = this.now();
    res.once('close', () => tracked.pending--);
  }
}
