/**
 * The one suite every Transport adapter runs. An adapter's test supplies a fixture: the
 * transport, references to images it has stored (built with test/support/image-fixtures.ts),
 * what those images hold, and a cleanup. The suite then checks what any caller relies on:
 * exact manifest bytes, instances by digest, byte-identical blobs with their size, the
 * not-found codes, aborts, close(), and concurrent reads.
 */
import { type Readable } from 'node:stream';
import { expect } from 'chai';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import { isProxyError, type ErrorCode } from '../../src/domain/errors.js';
import { detectCompression } from '../../src/domain/layers.js';
import { MediaType } from '../../src/domain/media-types.js';
import { type ImageReference } from '../../src/domain/reference.js';
import { type ImageSource, type Transport } from '../../src/ports/transport.js';
import { artifactBlobs, artifactManifests, type FixtureArtifact, type FixtureBlob, type FixtureImage, type FixtureList } from '../support/image-fixtures.js';

export interface ContractImage<A extends FixtureArtifact = FixtureArtifact> {
  readonly reference: ImageReference;
  /** What the stored image holds. */
  readonly expected: A;
}

export interface TransportContractFixture {
  readonly transport: Transport;
  /** A single-platform image. */
  readonly single: ContractImage<FixtureImage>;
  /** An OCI index or docker manifest list, with its instances stored too; absent for transports that cannot hold lists. */
  readonly list?: ContractImage<FixtureList> | undefined;
  /** An image with a blob of at least 1 MiB (e.g. `ociLarge`), for aborting a flowing stream. */
  readonly large: ContractImage;
  /** A reference to an image that does not exist (same transport). */
  readonly missing: ImageReference;
  cleanup(): Promise<void>;
}

const ABSENT_DIGEST = digestOf(new TextEncoder().encode('a blob no fixture contains')) as Digest;
const LARGE_BLOB = 1024 * 1024;

export interface ContractOptions {
  /** False for transports that hold single images only (docker-archive): the list tests are not registered. */
  readonly lists?: boolean;
}

export function describeTransportContract(title: string, makeFixture: () => Promise<TransportContractFixture>, options: ContractOptions = {}): void {
  const kinds = options.lists === false ? (['single'] as const) : (['single', 'list'] as const);
  describe(`Transport contract: ${title}`, function () {
    let fixture: TransportContractFixture;
    const opened: ImageSource[] = [];

    before(async function () {
      fixture = await makeFixture();
    });
    after(async function () {
      await Promise.all(opened.map((source) => source.close()));
      await fixture?.cleanup();
    });

    async function open(image: ContractImage, signal?: AbortSignal): Promise<ImageSource> {
      const source = await fixture.transport.open(image.reference, {}, signal);
      opened.push(source);
      return source;
    }

    it('opens a single-platform image from its own transport', async function () {
      const source = await open(fixture.single);
      expect(source.reference.transport).to.equal(fixture.transport.name);
    });

    function imageOf(kind: 'single' | 'list'): ContractImage {
      const chosen = fixture[kind];
      if (chosen === undefined) throw new Error(`the fixture has no ${kind} image`);
      return chosen;
    }

    for (const kind of kinds) {
      it(`serves the ${kind} manifest exactly as stored, with its media type`, async function () {
        const { expected } = imageOf(kind);
        const manifest = await (await open(imageOf(kind))).manifest(undefined);
        expectSameBytes(manifest.bytes, expected.manifest);
        expect(manifest.mediaType).to.equal(expected.manifest.mediaType);
      });

      it(`streams every blob of the ${kind} image byte-identical, with its size`, async function () {
        const source = await open(imageOf(kind));
        const blobs = artifactBlobs(imageOf(kind).expected);
        expect(blobs.length).to.be.above(0);
        for (const blob of blobs) {
          const body = await source.blob({ digest: blob.digest, size: blob.bytes.length, mediaType: blob.mediaType });
          expect(body.size, `size of ${blob.digest}`).to.equal(blob.bytes.length);
          expectSameBytes(await collect(body.stream), blob);
        }
      });
    }

    for (const kind of kinds) {
      // A source may not know (a registry, a compressed archive): then it says nothing, never something else.
      it(`layerCompression, where known, is what the bytes served for each ${kind} layer show`, async function () {
        const source = await open(imageOf(kind));
        const images = imageOf(kind).expected;
        for (const image of images.kind === 'image' ? [images] : images.instances) {
          for (const layer of image.layers) {
            const request = { digest: layer.digest, size: layer.bytes.length, mediaType: layer.mediaType };
            const served = await collect((await source.blob(request)).stream);
            expect([undefined, detectCompression(served)], `${layer.digest} (${layer.mediaType})`).to.include(await source.layerCompression?.(request));
          }
        }
      });
    }

    it('layerCompression does not fail for a layer the source lacks', async function () {
      const source = await open(fixture.single);
      const reported = await source.layerCompression?.({ digest: ABSENT_DIGEST, mediaType: MediaType.ociLayerGzip });
      expect([undefined, 'none']).to.include(reported);
    });

    if (kinds.length > 1)
      it('serves every instance of the list by digest, with its media type', async function () {
        const source = await open(imageOf('list'));
        const instances = artifactManifests(imageOf('list').expected).slice(1);
        expect(instances.length).to.be.above(0);
        for (const instance of instances) {
          const manifest = await source.manifest(instance.digest);
          expectSameBytes(manifest.bytes, instance);
          expect(manifest.mediaType).to.equal(instance.mediaType);
        }
      });

    it('rejects a manifest digest the image does not have with image-not-found', async function () {
      const source = await open(fixture.list ?? fixture.single);
      await expectCode(source.manifest(ABSENT_DIGEST), 'image-not-found');
    });

    it('rejects a blob the image does not have with blob-not-found', async function () {
      const source = await open(fixture.single);
      await expectCode(source.blob({ digest: ABSENT_DIGEST }), 'blob-not-found');
    });

    it('rejects opening a missing image with image-not-found', async function () {
      await expectCode(fixture.transport.open(fixture.missing, {}), 'image-not-found');
    });

    it('honours an already aborted signal in open, manifest and blob', async function () {
      const aborted = AbortSignal.abort();
      await expectAbort(fixture.transport.open(fixture.single.reference, {}, aborted));
      const source = await open(fixture.single);
      await expectAbort(source.manifest(undefined, aborted));
      await expectAbort(source.blob({ digest: fixture.single.expected.config.digest }, aborted));
    });

    it('stops a flowing blob stream when its signal is aborted', async function () {
      const source = await open(fixture.large);
      const largest = artifactBlobs(fixture.large.expected).reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a));
      expect(largest.bytes.length, 'the large fixture needs a blob of at least 1 MiB').to.be.at.least(LARGE_BLOB);
      const controller = new AbortController();
      const body = await source.blob({ digest: largest.digest, size: largest.bytes.length }, controller.signal);
      let received = 0;
      const outcome = (async () => {
        for await (const chunk of body.stream as AsyncIterable<Uint8Array>) {
          received += chunk.length;
          if (!controller.signal.aborted) controller.abort();
        }
      })();
      const err = await outcome.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(err, 'the stream must fail after an abort').to.be.instanceOf(Error);
      expect((err as Error).name).to.equal('AbortError');
      expect(received).to.be.below(largest.bytes.length);
      expect(body.stream.destroyed).to.equal(true);
    });

    it('closes a source, twice if asked', async function () {
      const source = await fixture.transport.open(fixture.single.reference, {});
      await source.close();
      await source.close();
    });

    it('serves concurrent blob reads of several images byte-identical', async function () {
      const reads: Promise<void>[] = [];
      const other = fixture.list ?? fixture.large;
      for (const image of [fixture.single, other, fixture.single, other]) {
        const source = await open(image);
        for (const blob of artifactBlobs(image.expected)) {
          reads.push(source.blob({ digest: blob.digest, size: blob.bytes.length }).then(async (body) => expectSameBytes(await collect(body.stream), blob)));
        }
      }
      expect(reads.length).to.be.at.least(8);
      await Promise.all(reads);
    });
  });
}

async function collect(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function expectSameBytes(actual: Uint8Array, expected: FixtureBlob): void {
  expect(actual.length, `length of ${expected.digest}`).to.equal(expected.bytes.length);
  expect(digestOf(actual), `content of ${expected.digest}`).to.equal(expected.digest);
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(err, `expected a ${code} rejection`).to.not.equal(undefined);
  expect(isProxyError(err) ? err.code : err).to.equal(code);
}

async function expectAbort(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(err, 'expected an abort rejection').to.be.instanceOf(Error);
  expect((err as Error).name).to.equal('AbortError');
}
