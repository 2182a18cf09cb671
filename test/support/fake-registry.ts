/**
 * An in-process registry for what a real one cannot be made to do: a real node:http server on
 * 127.0.0.1:0 that serves manifests and blobs (with Range), issues bearer tokens from its own
 * realm, and lets a test inject faults — resets mid-body, wrong bytes, 429s, 5xx, redirects,
 * stalls — ahead of the normal routes. Every request is recorded for assertions.
 */
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received, to count repeated ones (`headers` joins them). */
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** How the registry's `/v2/` routes want to be authenticated. */
export type FakeAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly kind: 'bearer';
      readonly service: string;
      /** Accounts the token endpoint accepts with Basic auth; others get 401. Anonymous is always allowed. */
      readonly users?: Readonly<Record<string, string>>;
      /** Refresh tokens the token endpoint accepts on its OAuth2 POST. */
      readonly refreshTokens?: readonly string[];
      /** `expires_in` of issued tokens (seconds); omitted when undefined. */
      readonly expiresIn?: number;
      /** Name the token field `access_token` instead of `token`. */
      readonly accessTokenField?: boolean;
      /** Slows token answers so concurrent requests overlap. */
      readonly tokenDelayMs?: number;
    };

export type Handler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void | Promise<void>;

interface Fault {
  readonly matches: (req: RecordedRequest) => boolean;
  readonly handler: Handler;
  remaining: number;
}

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const BLOB_PATH = /^\/v2\/(.+)\/blobs\/([^/]+)$/;

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

export function registryErrorBody(code: string, message: string): unknown {
  return { errors: [{ code, message, detail: null }] };
}

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  /** Bearer tokens issued so far, with the scopes each covers. */
  readonly issuedTokens = new Map<string, readonly string[]>();
  auth: FakeAuth;
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private tokenCounter = 0;

  private constructor(
    private readonly server: Server,
    auth: FakeAuth,
    private readonly scheme: 'http' | 'https',
  ) {
    this.auth = auth;
  }

  /** Plain http, or https with the given server certificate and key (PEM). */
  static async start(auth: FakeAuth = { kind: 'none' }, tls?: { readonly cert: string; readonly key: string }): Promise<FakeRegistry> {
    const server: Server = tls === undefined ? createServer() : createHttpsServer(tls);
    const registry = new FakeRegistry(server, auth, tls === undefined ? 'http' : 'https');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void registry.handle(req, res));
    server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      registry.sockets.add(socket);
      socket.on('close', () => registry.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return registry;
  }

  /** `127.0.0.1:<port>`: the domain to put in references. */
  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get url(): string {
    return `${this.scheme}://${this.host}`;
  }

  /** Stores a manifest under its digest and, when given, a tag. Returns the digest. */
  putManifest(repository: string, bytes: Uint8Array, mediaType: string, tag?: string): string {
    const digest = sha256(bytes);
    const entry = { bytes: Buffer.from(bytes), mediaType };
    this.manifests.set(`${repository}@${digest}`, entry);
    if (tag !== undefined) this.manifests.set(`${repository}:${tag}`, entry);
    return digest;
  }

  putBlob(repository: string, bytes: Uint8Array): string {
    const digest = sha256(bytes);
    this.blobs.set(`${repository}@${digest}`, Buffer.from(bytes));
    return digest;
  }

  /** Answers the next `times` requests that match with `handler` instead of the normal routes. */
  inject(matches: (req: RecordedRequest) => boolean, handler: Handler, times = 1): void {
    this.faults.push({ matches, handler, remaining: times });
  }

  /** Requests whose path (without query) matches. */
  requestsTo(pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => pattern.test(r.url.split('?')[0]!));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(recorded);
    const fault = this.faults.find((f) => f.remaining > 0 && f.matches(recorded));
    if (fault !== undefined) {
      fault.remaining--;
      await fault.handler(req, res, recorded);
      return;
    }
    const path = recorded.url.split('?')[0]!;
    if (path === '/token') return this.token(req, res, recorded);
    if (!path.startsWith('/v2/')) return sendJson(res, 404, registryErrorBody('NOT_FOUND', 'no such route'));
    const repository = MANIFEST_PATH.exec(path)?.[1] ?? BLOB_PATH.exec(path)?.[1];
    if (!this.authorized(req, repository)) return this.challenge(res, repository, req.headers.authorization?.startsWith('Bearer ') === true);
    if (path === '/v2/') return sendJson(res, 200, {});
    const manifest = MANIFEST_PATH.exec(path);
    if (manifest) return this.manifest(res, manifest[1]!, manifest[2]!, req.method === 'HEAD');
    const blob = BLOB_PATH.exec(path);
    if (blob) return this.blob(req, res, blob[1]!, blob[2]!);
    sendJson(res, 404, registryErrorBody('NOT_FOUND', 'no such route'));
  }

  private authorized(req: IncomingMessage, repository: string | undefined): boolean {
    const auth = this.auth;
    const header = req.headers.authorization ?? '';
    if (auth.kind === 'none') return true;
    if (auth.kind === 'basic') return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const scopes = this.issuedTokens.get(header.replace(/^Bearer /, ''));
    if (scopes === undefined) return false;
    return repository === undefined || scopes.includes(`repository:${repository}:pull`);
  }

  /** As distribution answers: a bearer token it does not accept (unknown, expired) is `invalid_token`. */
  private challenge(res: ServerResponse, repository: string | undefined, sentToken: boolean): void {
    const auth = this.auth;
    const header =
      auth.kind === 'basic'
        ? 'Basic realm="fake registry"'
        : auth.kind === 'bearer'
          ? `Bearer realm="${this.url}/token",service="${auth.service}"${repository ? `,scope="repository:${repository}:pull"` : ''}${sentToken ? ',error="invalid_token"' : ''}`
          : '';
    sendJson(res, 401, registryErrorBody('UNAUTHORIZED', 'authentication required'), { 'www-authenticate': header });
  }

  private async token(req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest): Promise<void> {
    const auth = this.auth;
    if (auth.kind !== 'bearer') return sendJson(res, 404, {});
    if (auth.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, auth.tokenDelayMs));
    const query = new URL(recorded.url, this.url).searchParams;
    const form = new URLSearchParams(recorded.body);
    let scopes: string[];
    if (req.method === 'POST') {
      if (form.get('grant_type') !== 'refresh_token' || !(auth.refreshTokens ?? []).includes(form.get('refresh_token') ?? '')) {
        return sendJson(res, 401, { error: 'invalid_grant' });
      }
      scopes = form.getAll('scope');
    } else {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const user = decoded.slice(0, decoded.indexOf(':'));
        if (auth.users?.[user] !== decoded.slice(decoded.indexOf(':') + 1)) return sendJson(res, 401, { details: 'incorrect username or password' });
      }
      scopes = query.getAll('scope');
    }
    const token = `token-${++this.tokenCounter}`;
    this.issuedTokens.set(token, scopes);
    const expiry = auth.expiresIn === undefined ? {} : { expires_in: auth.expiresIn };
    sendJson(res, 200, { [auth.accessTokenField ? 'access_token' : 'token']: token, ...expiry });
  }

  private manifest(res: ServerResponse, repository: string, reference: string, head: boolean): void {
    const key = reference.includes(':') ? `${repository}@${reference}` : `${repository}:${reference}`;
    const entry = this.manifests.get(key);
    if (entry === undefined) return sendJson(res, 404, registryErrorBody('MANIFEST_UNKNOWN', `manifest unknown: ${reference}`));
    res.writeHead(200, { 'content-type': entry.mediaType, 'content-length': entry.bytes.length, 'docker-content-digest': sha256(entry.bytes) });
    res.end(head ? undefined : entry.bytes);
  }

  private blob(req: IncomingMessage, res: ServerResponse, repository: string, digest: string): void {
    const bytes = this.blobs.get(`${repository}@${digest}`);
    if (bytes === undefined) return sendJson(res, 404, registryErrorBody('BLOB_UNKNOWN', `blob unknown: ${digest}`));
    const range = requestedRange(req, bytes.length);
    if (range) {
      res.writeHead(206, { 'content-length': range.end - range.start, 'content-range': `bytes ${range.start}-${range.end - 1}/${bytes.length}` });
      res.end(bytes.subarray(range.start, range.end));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  }
}

/** `Range: bytes=A-` or `bytes=A-B` as [start, end), clamped to the blob; undefined without one. */
export function requestedRange(req: IncomingMessage, size: number): { start: number; end: number } | undefined {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!range) return undefined;
  return { start: Number(range[1]), end: range[2] === '' ? size : Math.min(size, Number(range[2]) + 1) };
}

/** Fault handlers for `FakeRegistry.inject`. */
export const faults = {
  /** Announces the whole body, sends `bytes.subarray(0, after)` and then kills the connection. */
  resetAfter(bytes: Uint8Array, after: number): Handler {
    return (req, res) => {
      const range = requestedRange(req, bytes.length);
      const { start, end } = range ?? { start: 0, end: bytes.length };
      const headers = range
        ? { 'content-length': end - start, 'content-range': `bytes ${start}-${end - 1}/${bytes.length}` }
        : { 'content-length': bytes.length };
      res.writeHead(range ? 206 : 200, headers);
      res.write(Buffer.from(bytes.subarray(start, start + after)), () => res.socket?.destroy());
    };
  },
  status(status: number, body: unknown = registryErrorBody('UNKNOWN', `injected ${status}`), headers: Record<string, string> = {}): Handler {
    return (_req, res) => sendJson(res, status, body, headers);
  },
  tooManyRequests(retryAfter?: string): Handler {
    return faults.status(429, registryErrorBody('TOOMANYREQUESTS', 'slow down'), retryAfter === undefined ? {} : { 'retry-after': retryAfter });
  },
  redirect(location: string, status = 307): Handler {
    return (_req, res) => {
      res.writeHead(status, { location, 'content-length': 0 });
      res.end();
    };
  },
  /** Serves fixed bytes with a given status and headers. */
  bytes(bytes: Uint8Array, headers: Record<string, string> = {}, status = 200): Handler {
    return (_req, res) => {
      res.writeHead(status, { 'content-length': bytes.length, ...headers });
      res.end(Buffer.from(bytes));
    };
  },
  /** Never answers: the connection stays open and silent. */
  silence(): Handler {
    return () => undefined;
  },
  /** Sends the headers and the first `after` bytes, then goes silent. */
  stallAfter(bytes: Uint8Array, after: number): Handler {
    return (_req, res) => {
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(Buffer.from(bytes.subarray(0, after)));
    };
  },
};
