/**
 * The client's pool of connections to one proxy (one socketpair and --sockfd each): parallel
 * calls, calls waiting for a free connection, and cancellation, which closes the one connection
 * whose body it abandons while the session goes on with the others.
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { type Readable } from 'node:stream';
import { expect } from 'chai';
import { ImageProxy } from '../../src/client/index.js';
import { rejection, sha256Of } from './client-assertions.js';
import { type ClientImages } from './client-images.js';
import { clientSuite } from './client-suite.js';

/** Reads the first chunk of a stream, leaving the rest of the body on its connection. */
async function firstChunk(stream: Readable): Promise<Buffer> {
  const [chunk] = (await once(stream, 'data')) as [Buffer];
  stream.pause();
  return chunk;
}

describe('TypeScript client: the pool of connections to one proxy', function () {
  this.timeout(30000);
  const suite = clientSuite();
  const { start } = suite;
  let images: ClientImages;
  before(() => {
    images = suite.images();
  });

  const large = () => images.fixtures.ociLarge.layers[0]!;

  it('downloads several blobs at once from one client object, and answers other calls meanwhile', async () => {
    const proxy = await start({ image: `oci:${images.mixedLayout}:mixed`, connections: 4 });
    const layers = images.mixed.layers;
    // Every stream is open before any is read: one connection would wait for the first body.
    const streams = [];
    for (const layer of layers) streams.push(await proxy.blob(layer.digest));
    expect((await proxy.manifest()).instanceDigest).to.equal(images.mixed.manifest.digest);
    const digests = await Promise.all(streams.map(async (stream) => (await sha256Of(stream)).digest));
    expect(digests).to.deep.equal(layers.map((layer) => layer.digest));
    expect(proxy.openConnections).to.equal(4);
  });

  it('makes a call wait while every connection is lent, and serves it once a body has been read', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 1 });
    const stream = await proxy.blob(large().digest);
    let served = false;
    const manifest = proxy.manifest().then((answer) => {
      served = true;
      return answer;
    });
    await delay(200);
    expect(served).to.equal(false);
    expect((await sha256Of(stream)).digest).to.equal(large().digest);
    expect((await manifest).instanceDigest).to.equal(images.fixtures.ociLarge.manifest.digest);
  });

  it('cancels a call waiting for a connection with cancelled, without closing any', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 1 });
    const stream = await proxy.blob(large().digest);
    const err = await rejection(proxy.config(undefined, { signal: AbortSignal.timeout(100) }));
    expect([err.code, err.message]).to.deep.equal(['cancelled', 'GET /config: cancelled, timed out']);
    expect((await sha256Of(stream)).digest).to.equal(large().digest);
    expect(proxy.openConnections).to.equal(1);
  });

  it('costs no connection for a call cancelled before it has one, and one for a call cancelled waiting for its headers', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 2 });
    const err = await rejection(proxy.blob(large().digest, { signal: AbortSignal.abort() }));
    expect(err.code).to.equal('cancelled');
    expect(proxy.openConnections, 'cancelled before a connection was lent').to.equal(2);
    const controller = new AbortController();
    const sent = rejection(proxy.blob(large().digest, { signal: controller.signal }));
    // The request is written on the call's first tick; the headers need a round trip to the proxy.
    setImmediate(() => controller.abort());
    expect((await sent).code).to.equal('cancelled');
    expect(proxy.openConnections).to.equal(1);
    expect((await proxy.config()).architecture).to.equal('amd64');
  });

  it('cancels a blob mid-body by its signal with cancelled, closes that connection only, and the next calls use the others', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 3 });
    const controller = new AbortController();
    const stream = await proxy.blob(large().digest, { signal: controller.signal });
    await firstChunk(stream);
    controller.abort();
    const err = await rejection(sha256Of(stream));
    expect([err.code, err.status, err.message]).to.deep.equal(['cancelled', 0, `blob ${large().digest}: cancelled, aborted`]);
    expect(proxy.openConnections).to.equal(2);
    expect((await proxy.manifest()).instanceDigest).to.equal(images.fixtures.ociLarge.manifest.digest);
    expect((await sha256Of(await proxy.blob(large().digest))).digest).to.equal(large().digest);
    expect(proxy.child.exitCode).to.equal(null);
  });

  it('fails a blob whose timeout passes before its body is read with cancelled, and the session goes on', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 2 });
    // Started and resolved first, so the timeout covers only the transfer.
    await proxy.manifest();
    const stream = await proxy.blob(large().digest, { timeout: 1000 });
    await firstChunk(stream);
    await delay(1500);
    const err = await rejection(sha256Of(stream));
    expect([err.code, err.message]).to.deep.equal(['cancelled', `blob ${large().digest}: cancelled, timed out after 1000 ms`]);
    expect(proxy.openConnections).to.equal(1);
    expect((await sha256Of(await proxy.decompressedLayer(large().digest))).digest).to.equal(large().diffId);
  });

  it('closes only its connection when a blob stream is destroyed before its end', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 2 });
    const stream = await proxy.blob(large().digest);
    await firstChunk(stream);
    stream.destroy();
    await once(stream, 'close');
    expect(proxy.openConnections).to.equal(1);
    expect((await proxy.config()).architecture).to.equal('amd64');
  });

  it('rejects calls with connection-closed once cancellations have closed every connection, and the proxy exits 0', async () => {
    const proxy = await start({ image: `oci:${images.layout}:large`, connections: 2 });
    for (let i = 0; i < 2; i += 1) {
      const controller = new AbortController();
      const stream = await proxy.blob(large().digest, { signal: controller.signal });
      await firstChunk(stream);
      controller.abort();
      expect((await rejection(sha256Of(stream))).code).to.equal('cancelled');
    }
    expect(proxy.openConnections).to.equal(0);
    const err = await rejection(proxy.manifest());
    expect(err.code).to.equal('connection-closed');
    expect(err.message).to.match(/^GET \/manifest: no connection to the proxy is left \(each cancelled transfer closes one\)/);
    expect(await proxy.kill()).to.deep.equal({ code: 0, signal: null });
  });

  it('refuses a pool of no connections', async () => {
    let err: unknown;
    await ImageProxy.spawn({ connections: 0 }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(RangeError);
    expect((err as Error).message).to.equal('connections must be a positive integer, got 0');
  });
});
