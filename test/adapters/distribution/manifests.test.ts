import { expect } from 'chai';
import { type Digest, digestOf } from '../../../src/domain/digest.js';
import { MANIFEST_ACCEPT, MediaType } from '../../../src/domain/media-types.js';
import { type ImageSource } from '../../../src/ports/transport.js';
import { FakeRegistry, faults, registryErrorBody } from '../../support/fake-registry.js';
import { REPO, dockerRef, expectCode, makeTransport, storeImage } from './helpers.js';

describe('distribution: manifests', function () {
  let registry: FakeRegistry;
  let cleanup: () => Promise<void>;
  let open: (ref?: ReturnType<typeof dockerRef>) => Promise<ImageSource>;

  beforeEach(async () => {
    registry = await FakeRegistry.start();
    const made = makeTransport();
    cleanup = made.cleanup;
    open = (ref = dockerRef(registry)) => made.transport.open(ref, {});
  });
  afterEach(async () => {
    await cleanup();
    await registry.close();
  });

  const manifestRequests = (): ReturnType<FakeRegistry['requestsTo']> => registry.requestsTo(/\/manifests\//);

  it('asks with one Accept line per manifest type, in containers/image order', async () => {
    storeImage(registry);
    await open();
    const raw = manifestRequests()[0]!.rawHeaders;
    const accepts = raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'accept');
    expect(accepts).to.deep.equal([...MANIFEST_ACCEPT]);
  });

  it('sends the user agent and the API version header on every request', async () => {
    storeImage(registry);
    await open();
    expect(registry.requests.length).to.be.at.least(2);
    for (const request of registry.requests) {
      expect(request.headers['user-agent']).to.equal('container-image-proxy/test');
      expect(request.headers['docker-distribution-api-version']).to.equal('registry/2.0');
    }
  });

  it('returns the exact bytes with the media type from Content-Type, parameters stripped', async () => {
    const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
    registry.putManifest(REPO, bytes, `${MediaType.ociManifest}; charset=utf-8`, 'v1');
    const manifest = await (await open()).manifest(undefined);
    expect(Buffer.from(manifest.bytes).equals(bytes)).to.equal(true);
    expect(manifest.mediaType).to.equal(MediaType.ociManifest);
  });

  it('reports an empty media type when there is no Content-Type (no sniffing)', async () => {
    const bytes = Buffer.from('{"schemaVersion":2}');
    registry.inject((r) => r.url.includes('/manifests/'), faults.bytes(bytes));
    expect((await (await open()).manifest(undefined)).mediaType).to.equal('');
  });

  it('fetches a by-digest reference and checks it hashes to the digest', async () => {
    const { manifest } = storeImage(registry);
    const source = await open(dockerRef(registry, REPO, { digest: manifest }));
    expect(digestOf((await source.manifest(undefined)).bytes)).to.equal(manifest);
    expect(manifestRequests()[0]!.url).to.equal(`/v2/${REPO}/manifests/${manifest}`);
  });

  it('rejects an instance whose bytes do not hash to the digest asked for', async () => {
    storeImage(registry);
    const wanted = digestOf(Buffer.from('what was asked for')) as Digest;
    registry.inject((r) => r.url.endsWith(wanted), faults.bytes(Buffer.from('{"other":true}'), { 'content-type': MediaType.ociManifest }));
    const source = await open();
    const err = await expectCode(source.manifest(wanted), 'digest-mismatch');
    expect(err.message).to.include(wanted);
  });

  it('refuses a manifest over 4 MiB', async () => {
    storeImage(registry);
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    registry.inject((r) => r.url.includes('/manifests/'), faults.bytes(huge, { 'content-type': MediaType.ociManifest }));
    await expectCode(open(), 'manifest-invalid');
  });

  const notFound: readonly [string, Parameters<typeof faults.status>, string | undefined][] = [
    ['MANIFEST_UNKNOWN', [404, registryErrorBody('MANIFEST_UNKNOWN', 'manifest unknown')], 'MANIFEST_UNKNOWN'],
    ['NAME_UNKNOWN', [404, registryErrorBody('NAME_UNKNOWN', 'repository name not known')], 'NAME_UNKNOWN'],
    ['a bare 404', [404, 'not json'], undefined],
  ];
  for (const [what, args, upstream] of notFound) {
    it(`maps ${what} to image-not-found, keeping the registry's code`, async () => {
      registry.inject((r) => r.url.includes('/manifests/'), faults.status(...args));
      const err = await expectCode(open(), 'image-not-found');
      expect((err as { upstreamCode?: string }).upstreamCode).to.equal(upstream);
      expect(err.message).to.include(`${registry.host}/${REPO}:v1`);
    });
  }

  it('retries a 503 on a manifest, then is served', async () => {
    storeImage(registry);
    registry.inject((r) => r.url.includes('/manifests/'), faults.status(503));
    await open();
    expect(manifestRequests()).to.have.length(2);
  });

  it('does not retry a 501 on a manifest: the server says it never will', async () => {
    storeImage(registry);
    registry.inject((r) => r.url.includes('/manifests/'), faults.status(501));
    await expectCode(open(), 'registry-error');
    expect(manifestRequests()).to.have.length(1);
  });

  it('maps Docker Hub\'s {"details": …} form', async () => {
    registry.inject((r) => r.url.includes('/manifests/'), faults.status(429, { details: 'You have reached your pull rate limit.' }), 5);
    const err = await expectCode(open(), 'too-many-requests');
    expect(err.message).to.include('pull rate limit');
    expect((err as { upstreamCode?: string }).upstreamCode).to.equal('TOOMANYREQUESTS');
  });

  // Found by the property tests: printing the detail recursed through it and overflowed the stack.
  it('quotes an error detail nested 20000 levels deep as a short excerpt', async () => {
    const body = `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown","detail":${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`;
    registry.inject((r) => r.url.includes('/manifests/'), faults.bytes(Buffer.from(body), { 'content-type': 'application/json' }, 404));
    const err = await expectCode(open(), 'image-not-found');
    expect(err.message).to.include(`MANIFEST_UNKNOWN: unknown (${'['.repeat(200)}…)`);
  });
});
