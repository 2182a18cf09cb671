import { expect } from 'chai';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { type ImageSource } from '../../../src/ports/transport.js';
import { FakeRegistry, faults } from '../../support/fake-registry.js';
import { REPO, collect, dockerRef, expectCode, makeTransport, patternBytes, rejection, storeImage } from './helpers.js';

describe('distribution: blobs', function () {
  let registry: FakeRegistry;
  let cdn: FakeRegistry;
  let cleanup: () => Promise<void>;
  let source: ImageSource;
  let layer: Digest;
  const bytes = patternBytes(300_000);

  beforeEach(async () => {
    registry = await FakeRegistry.start({ kind: 'bearer', service: 'svc' });
    cdn = await FakeRegistry.start();
    layer = storeImage(registry, bytes).layer;
    const made = makeTransport();
    cleanup = made.cleanup;
    source = await made.transport.open(dockerRef(registry), {});
  });
  afterEach(async () => {
    await cleanup();
    await Promise.all([registry.close(), cdn.close()]);
  });

  const blobPath = (): string => `/v2/${REPO}/blobs/${layer}`;
  const isBlob = (r: { url: string }): boolean => r.url === blobPath();

  it('streams the blob with its size and the registry authorization', async () => {
    const body = await source.blob({ digest: layer });
    expect(body.size).to.equal(bytes.length);
    expect((await collect(body.stream)).equals(bytes)).to.equal(true);
    expect(registry.requests.filter(isBlob).map((r) => r.headers.authorization)).to.deep.equal(['Bearer token-1']);
  });

  it('maps BLOB_UNKNOWN to blob-not-found', async () => {
    const err = await expectCode(source.blob({ digest: digestOf(Buffer.from('absent')) as Digest }), 'blob-not-found');
    expect((err as { upstreamCode?: string }).upstreamCode).to.equal('BLOB_UNKNOWN');
  });

  describe('redirects', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      it(`follows a ${status} to another host without sending Authorization there`, async () => {
        cdn.inject((r) => r.url === '/cdn/layer', faults.bytes(bytes));
        registry.inject(isBlob, faults.redirect(`${cdn.url}/cdn/layer`, status));
        expect((await collect((await source.blob({ digest: layer })).stream)).equals(bytes)).to.equal(true);
        const [hop] = cdn.requestsTo(/^\/cdn\/layer$/);
        expect(hop!.method).to.equal('GET');
        expect(hop!.headers.authorization).to.equal(undefined);
      });
    }

    it('keeps Authorization on a redirect to the same host:port', async () => {
      registry.inject((r) => r.url === '/same/layer', faults.bytes(bytes));
      registry.inject(isBlob, faults.redirect('/same/layer'));
      await collect((await source.blob({ digest: layer })).stream);
      expect(registry.requestsTo(/^\/same\/layer$/)[0]!.headers.authorization).to.equal('Bearer token-1');
    });

    it('never re-adds Authorization when the chain comes back to the registry', async () => {
      registry.inject((r) => r.url === '/back/layer', faults.bytes(bytes));
      cdn.inject((r) => r.url === '/hop', faults.redirect(`${registry.url}/back/layer`));
      registry.inject(isBlob, faults.redirect(`${cdn.url}/hop`));
      expect((await collect((await source.blob({ digest: layer })).stream)).equals(bytes)).to.equal(true);
      expect(cdn.requestsTo(/^\/hop$/)[0]!.headers.authorization).to.equal(undefined);
      expect(registry.requestsTo(/^\/back\/layer$/)[0]!.headers.authorization).to.equal(undefined);
    });

    it('gives up after 10 redirects', async () => {
      registry.inject((r) => r.url === '/loop', faults.redirect('/loop'), 20);
      registry.inject(isBlob, faults.redirect('/loop'));
      const err = await expectCode(source.blob({ digest: layer }), 'registry-error');
      expect(err.message).to.include('redirects');
      expect(registry.requestsTo(/^\/loop$/)).to.have.length(10);
    });
  });

  describe('foreign layers', () => {
    it('tries the urls first, without credentials', async () => {
      cdn.inject((r) => r.url === '/foreign', faults.bytes(bytes));
      const body = await source.blob({ digest: layer, urls: ['ftp://ignored.example/x', `${cdn.url}/foreign`] });
      expect((await collect(body.stream)).equals(bytes)).to.equal(true);
      expect(cdn.requestsTo(/^\/foreign$/)[0]!.headers.authorization).to.equal(undefined);
      expect(registry.requests.filter(isBlob)).to.have.length(0);
    });

    it('falls back to the registry when no url answers', async () => {
      cdn.inject((r) => r.url === '/gone', faults.status(404));
      const body = await source.blob({ digest: layer, urls: [`${cdn.url}/gone`] });
      expect((await collect(body.stream)).equals(bytes)).to.equal(true);
      expect(registry.requests.filter(isBlob)).to.have.length(1);
    });
  });

  describe('resuming a broken connection', () => {
    it('resumes with Range and yields identical bytes', async () => {
      registry.inject(isBlob, faults.resetAfter(bytes, 70_000));
      registry.inject(isBlob, faults.resetAfter(bytes, 50_000));
      const body = await source.blob({ digest: layer });
      const received = await collect(body.stream);
      expect(received.length).to.equal(bytes.length);
      expect(received.equals(bytes)).to.equal(true);
      const ranges = registry.requests.filter(isBlob).map((r) => r.headers.range);
      expect(ranges[0]).to.equal(undefined);
      expect(ranges).to.have.length(3);
      expect(Number(/^bytes=(\d+)-$/.exec(ranges[1]!)![1]))
        .to.be.at.least(1)
        .and.at.most(70_000);
      expect(registry.requests.filter(isBlob).every((r) => r.headers.authorization === 'Bearer token-1')).to.equal(true);
    });

    it('fails clearly when the registry answers the Range with 200', async () => {
      registry.inject(isBlob, faults.resetAfter(bytes, 10_000));
      registry.inject((r) => isBlob(r) && r.headers.range !== undefined, faults.bytes(bytes));
      const err = await rejection(collect((await source.blob({ digest: layer })).stream));
      expect((err as { code?: string }).code).to.equal('network');
      expect((err as Error).message).to.include('ignored the Range');
    });

    it('fails clearly on a Content-Range that does not continue at the offset', async () => {
      registry.inject(isBlob, faults.resetAfter(bytes, 10_000));
      registry.inject(
        (r) => isBlob(r) && r.headers.range !== undefined,
        faults.bytes(bytes.subarray(5), { 'content-range': `bytes 5-${bytes.length - 1}/${bytes.length}` }, 206),
      );
      const err = await rejection(collect((await source.blob({ digest: layer })).stream));
      expect((err as Error).message).to.include('inconsistent Content-Range');
    });

    it('stops after a bounded number of resumes', async () => {
      registry.inject(isBlob, faults.resetAfter(bytes, 1000), 20);
      const err = await rejection(collect((await source.blob({ digest: layer })).stream));
      expect((err as { code?: string }).code).to.equal('network');
      expect(registry.requests.filter(isBlob)).to.have.length(6);
    });
  });
});
