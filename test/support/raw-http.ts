/**
 * HTTP/1.1 spoken by hand over a raw socket, for what an HTTP client library hides: pipelining,
 * half-closing, malformed requests, partial headers, answers that end early.
 */
import { type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Reads consecutive Content-Length-framed HTTP/1.1 responses off a byte stream, in order. */
export function parseResponses(bytes: Buffer, methods: readonly string[]): RawResponse[] {
  const answers: RawResponse[] = [];
  let at = 0;
  for (const method of methods) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) throw new Error(`response ${answers.length + 1} is incomplete`);
    const [statusLine, ...lines] = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = method === 'HEAD' ? 0 : Number(headers['content-length']);
    const body = bytes.subarray(headEnd + 4, headEnd + 4 + length);
    if (body.length !== length) throw new Error(`response ${answers.length + 1} body is incomplete`);
    answers.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    at = headEnd + 4 + length;
  }
  if (at !== bytes.length) throw new Error(`${bytes.length - at} bytes after the last expected response`);
  return answers;
}

/** A request as bytes; `POST` gets an empty body's Content-Length. Host is `localhost`, as curl sends to a loopback listener. */
export function requestBytes(method: string, path: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries({ Host: 'localhost', ...(method === 'POST' ? { 'Content-Length': '0' } : {}), ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** Everything the peer sends until it closes its side (or the socket closes). */
export function readUntilEnd(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    const done = () => resolve(Buffer.concat(chunks));
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** Writes `bytes`, then half-closes (`shutdown(SHUT_WR)`) when asked, and reads until the peer ends. */
export function exchange(socket: Socket, bytes: string, options: { readonly halfClose?: boolean } = {}): Promise<Buffer> {
  const received = readUntilEnd(socket);
  if (options.halfClose === true) socket.end(bytes);
  else socket.write(bytes);
  return received;
}

/** The single error answer in `bytes`: its status, the exact Content-Length and the JSON body. */
export function errorAnswerOf(bytes: Buffer): { status: number; code: string; message: string; headers: Record<string, string> } {
  const [answer] = parseResponses(bytes, ['GET']);
  const body = JSON.parse(answer!.body.toString('utf8')) as { code: string; message: string };
  return { status: answer!.status, code: body.code, message: body.message, headers: answer!.headers };
}
