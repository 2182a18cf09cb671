import { randomBytes } from 'node:crypto';
import { Agent, STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { expect } from 'chai';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { ErrorCodes, ProxyError } from '../../../src/domain/errors.js';
import { createImageApp, DEFAULT_HEADERS_TIMEOUT_MS, listenOn, type ListeningServer, STATUS_FOR_CODE } from '../../../src/adapters/http/index.js';
import { httpRequest, type HttpAnswer } from '../../support/spawn-proxy.js';
import { MemoryImageApi } from './memory-image-api.js';

const manifestBody = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const configBody = Buffer.from('{"architecture":"amd64","os":"linux"}');
const listDigest = digestOf(Buffer.from('the list'));

interface Harness {
  readonly api: MemoryImageApi;
  readonly listening: ListeningServer;
  readonly agent: Agent;
  readonly quits: number[];
  readonly fatals: ProxyError[];
  connections: number;
  get(path: string, method?: string, headers?: Record<string, string>): Promise<HttpAnswer>;
}

async function startHarness(): Promise<Harness> {
  const api = new MemoryImageApi({ body: manifestBody, manifestDigest: listDigest, instanceDigest: digestOf(manifestBody) }, configBody);
  const quits: number[] = [];
  const fatals: ProxyError[] = [];
  const app = createImageApp(api, { onQuit: () => quits.push(Date.now()), onFatal: (err) => fatals.push(err) }, { version: '9.9.9' });
  const listening = await listenOn(app, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  const port = Number(listening.description.split(':').pop());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const harness: Harness = {
    api,
    listening,
    agent,
    quits,
    fatals,
    connections: 0,
    get: (path, method = 'GET', headers = {}) => httpRequest(agent, method, path, { ...headers, host: `127.0.0.1:${port}` }),
  };
  listening.server.on('connection', () => harness.connections++);
  agent.createConnection = (_options, callback) => {
    const socket = connect(port, '127.0.0.1');
    callback?.(null, socket);
    return socket;
  };
  return harness;
}

function errorBody(answer: HttpAnswer): { code: string; message: string } {
  expect(answer.headers['content-type']).to.match(/^application\/json/);
  expect(Number(answer.headers['content-length'])).to.equal(answer.body.length);
  return JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
}

describe('HTTP API (express adapter over an in-memory ImageApi)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    h.agent.destroy();
    await h.listening.close();
  });

  it('GET /manifest answers the OCI manifest with both digests and no framework headers', async () => {
    const answer = await h.get('/manifest');
    expect(answer.status).to.equal(200);
    expect(answer.body.equals(manifestBody)).to.equal(true);
    expect(answer.headers['content-type']).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(answer.headers['content-length']).to.equal(String(manifestBody.length));
    expect(answer.headers['manifest-digest']).to.equal(listDigest);
    expect(answer.headers['instance-digest']).to.equal(digestOf(manifestBody));
    expect(answer.headers).to.not.have.any.keys('x-powered-by', 'etag', 'content-encoding');
  });

  it('GET /config answers the OCI config', async () => {
    const answer = await h.get('/config');
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/vnd.oci.image.config.v1+json');
    expect(answer.body.equals(configBody)).to.equal(true);
  });

  for (const path of ['/manifest', '/config']) {
    it(`HEAD ${path} gives the GET headers and no body`, async () => {
      const [get, head] = [await h.get(path), await h.get(path, 'HEAD')];
      expect(head.status).to.equal(200);
      expect(head.body.length).to.equal(0);
      expect(head.headers['content-length']).to.equal(get.headers['content-length']);
      expect(head.headers['content-type']).to.equal(get.headers['content-type']);
    });
  }

  it('streams blobs of several sizes byte for byte, on one keep-alive connection', async () => {
    const blobs = [Buffer.alloc(0), Buffer.from('x'), randomBytes(200 * 1024), randomBytes(3 * 1024 * 1024 + 7)];
    for (const bytes of blobs) {
      const digest = h.api.addBlob(bytes);
      const answer = await h.get(`/blobs/${digest}`);
      expect(answer.status).to.equal(200);
      expect(answer.headers['content-type']).to.equal('application/octet-stream');
      expect(answer.headers['content-length']).to.equal(String(bytes.length));
      expect(digestOf(answer.body)).to.equal(digest);
    }
    expect(h.connections).to.equal(1);
  });

  it('HEAD /blobs/<digest> gives the size and releases the stream', async () => {
    const digest = h.api.addBlob(randomBytes(1000));
    const answer = await h.get(`/blobs/${digest}`, 'HEAD');
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-length']).to.equal('1000');
    expect(answer.body.length).to.equal(0);
    expect(h.api.streams.map((s) => s.destroyed)).to.deep.equal([true]);
  });

  const hex = 'a'.repeat(64);
  const errorCases: readonly [string, string, string, number, string][] = [
    ['upper-case hex', 'GET', `/blobs/sha256:${'A'.repeat(64)}`, 400, 'bad-request'],
    ['short hex', 'GET', `/blobs/sha256:${'a'.repeat(63)}`, 400, 'bad-request'],
    ['unknown algorithm', 'GET', `/blobs/md5:${'a'.repeat(32)}`, 400, 'bad-request'],
    ['an encoded slash', 'GET', `/blobs/sha256%2F..%2F${hex}`, 400, 'bad-request'],
    ['a path after the digest', 'GET', `/blobs/sha256:${hex}/..`, 400, 'bad-request'],
    ['dot-dot', 'GET', '/blobs/..', 400, 'bad-request'],
    ['no digest', 'GET', '/blobs/', 400, 'bad-request'],
    ['malformed percent-encoding', 'GET', '/blobs/%zz', 400, 'bad-request'],
    ['a digest the image does not have', 'GET', `/blobs/sha256:${hex}`, 404, 'blob-not-found'],
    ['an unknown path', 'GET', '/v2/', 404, 'not-found'],
    ['POST /manifest', 'POST', '/manifest', 405, 'method-not-allowed'],
    ['PUT /config', 'PUT', '/config', 405, 'method-not-allowed'],
    ['DELETE /blobs/…', 'DELETE', `/blobs/sha256:${hex}`, 405, 'method-not-allowed'],
    ['GET /quit', 'GET', '/quit', 405, 'method-not-allowed'],
  ];
  it('answers every error as JSON with a real status line, keeping the connection usable', async () => {
    for (const [why, method, path, status, code] of errorCases) {
      const answer = await h.get(path, method);
      expect(answer.status, why).to.equal(status);
      expect(answer.statusMessage, why).to.equal(STATUS_CODES[status]);
      expect(errorBody(answer).code, why).to.equal(code);
      if (status === 405) expect(answer.headers['allow'], why).to.be.a('string');
      expect((await h.get('/manifest')).status, `after ${why}`).to.equal(200);
    }
    expect(h.connections).to.equal(1);
  });

  const apiFailures: readonly [Error, number, string][] = [
    [new ProxyError('image-not-found', 'no image named latest in /x'), 404, 'image-not-found'],
    [new ProxyError('unsupported-transport', 'docker:// is not available yet'), 501, 'unsupported-transport'],
    [new ProxyError('policy-rejected', 'rejected by policy'), 403, 'policy-rejected'],
    [new Error('something unexpected'), 500, 'internal'],
  ];
  for (const [failure, status, code] of apiFailures) {
    it(`maps an ImageApi failure (${code}) to ${status} on every endpoint`, async () => {
      h.api.failure = failure;
      for (const path of ['/manifest', '/config', `/blobs/sha256:${hex}`]) {
        const answer = await h.get(path);
        expect(answer.status, path).to.equal(status);
        expect(errorBody(answer)).to.deep.equal({ code, message: failure.message });
      }
    });
  }

  it('maps every error code to a 4xx or 5xx status in one table', () => {
    expect(Object.keys(STATUS_FOR_CODE).sort()).to.deep.equal([...ErrorCodes].sort());
    for (const code of ErrorCodes) expect(STATUS_FOR_CODE[code], code).to.be.within(400, 599);
  });

  it('POST /quit answers 200 with an empty body, then calls onQuit', async () => {
    const answer = await h.get('/quit', 'POST');
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-length']).to.equal('0');
    expect(h.quits).to.have.length(1);
  });

  it('accepts any Host header, and none', async () => {
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(h.listening.description.split(':').pop()), '127.0.0.1');
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        socket.once('error', reject);
        socket.once('end', () => resolve(text));
        socket.end(request);
      });
    for (const host of ['Host: localhost\r\n', 'Host: some.other.name:1234\r\n', '']) {
      const text = await raw(`GET /config HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
      expect(text, JSON.stringify(host)).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text.endsWith(configBody.toString())).to.equal(true);
    }
  });

  it('never ends a corrupt blob: fewer bytes than Content-Length, connection torn down, onFatal told', async () => {
    const bytes = randomBytes(512 * 1024);
    const digest: Digest = h.api.addBlob(bytes, { corrupt: true });
    const answer = await h.get(`/blobs/${digest}`);
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-length']).to.equal(String(bytes.length));
    expect(answer.complete).to.equal(false);
    expect(answer.body.length).to.be.lessThan(bytes.length);
    expect(h.fatals.map((e) => e.code)).to.deep.equal(['digest-mismatch']);
    expect(h.fatals[0]!.message).to.contain(digest);
    // Only that connection ended: the listener serves the next one.
    expect((await h.get('/manifest')).status).to.equal(200);
    expect(h.connections).to.equal(2);
  });

  it('sets no timeout that would close an idle sidecar connection; only late headers are bounded', () => {
    const { server } = h.listening;
    expect([server.keepAliveTimeout, server.requestTimeout, server.headersTimeout, server.timeout]).to.deep.equal([0, 0, DEFAULT_HEADERS_TIMEOUT_MS, 0]);
  });
});
