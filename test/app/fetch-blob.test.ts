import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { expect } from 'chai';
import { FetchBlob } from '../../src/app/core/use-cases/fetch-blob.js';
import { LayerKeys } from '../../src/app/core/use-cases/layer-keys.js';
import { type ImageLayer, type ResolvedImage } from '../../src/app/core/use-cases/resolve-manifest.js';
import { digestOf, type Digest } from '../../src/domain/digest.js';
import { isProxyError, ProxyError } from '../../src/domain/errors.js';
import { detectCompression, layerCompression } from '../../src/domain/layers.js';
import { MediaType } from '../../src/domain/media-types.js';
import { type ImageReference, parseImageName } from '../../src/domain/reference.js';
import { type BlobAnswer } from '../../src/ports/image-api.js';
import { type BlobBody, type BlobRequest, type ImageSource } from '../../src/ports/transport.js';

const CHUNK = 16 * 1024;

/** Hands out stored bytes in chunks, so holding back the tail is observable; records what was asked. */
class MemorySource implements ImageSource {
  readonly reference: ImageReference = parseImageName('oci:/memory:test');
  readonly requested: Digest[] = [];
  readonly opened: Readable[] = [];
  /** What the source claims, when a test wants it to lie about the size. */
  announcedSize: number | undefined;

  constructor(private readonly blobs: ReadonlyMap<Digest, Uint8Array>) {}

  manifest(): Promise<never> {
    return Promise.reject(new Error('FetchBlob never reads manifests'));
  }

  blob(request: BlobRequest): Promise<BlobBody> {
    this.requested.push(request.digest);
    const bytes = this.blobs.get(request.digest);
    if (bytes === undefined) return Promise.reject(new ProxyError('blob-not-found', `${request.digest} is not stored`));
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(Buffer.from(bytes.subarray(at, at + CHUNK)));
    const stream = Readable.from(chunks);
    this.opened.push(stream);
    return Promise.resolve({ stream, size: this.announcedSize ?? bytes.length });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface TestLayer {
  readonly mediaType: string;
  /** What the manifest says the layer is. */
  readonly bytes: Uint8Array;
  /** What the source actually stores, when it differs: other bytes (corruption), or null (missing). */
  readonly stored?: Uint8Array | null;
  readonly diffID: Digest | undefined;
}

function imageOf(config: Uint8Array, layers: readonly TestLayer[]): { image: ResolvedImage; source: MemorySource } {
  const stored = new Map<Digest, Uint8Array>();
  for (const layer of layers) if (layer.stored !== null) stored.set(digestOf(layer.bytes), layer.stored ?? layer.bytes);
  const source = new MemorySource(stored);
  const byDigest = new Map<Digest, ImageLayer>();
  for (const layer of layers) {
    const descriptor = { mediaType: layer.mediaType, digest: digestOf(layer.bytes), size: layer.bytes.length };
    byDigest.set(descriptor.digest, { source: descriptor, info: { ...descriptor, compression: layerCompression(layer.mediaType), diffID: layer.diffID } });
  }
  const image: ResolvedImage = {
    source,
    manifestDigest: digestOf(Buffer.from('manifest')),
    instanceDigest: digestOf(Buffer.from('manifest')),
    ociManifest: Buffer.from('manifest'),
    ociConfig: config,
    configDigest: digestOf(config),
    layerInfos: [...byDigest.values()].map((layer) => layer.info),
    layers: byDigest,
    policyVerdict: { allowed: true, policy: '--insecure-policy', requirements: [], signatures: [] },
  };
  return { image, source };
}

async function drain(answer: BlobAnswer): Promise<{ body: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of answer.stream) chunks.push(chunk as Buffer);
    return { body: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { body: Buffer.concat(chunks), error };
  }
}

async function rejection(promise: Promise<unknown>): Promise<ProxyError> {
  try {
    await promise;
  } catch (err) {
    if (isProxyError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('FetchBlob', () => {
  // Incompressible, so every form spans many chunks and a withheld tail is a visible shortfall.
  const tar = randomBytes(300 * 1024);
  const diffID = digestOf(tar);
  const gzip = gzipSync(tar);
  const zstd = zstdCompressSync(tar);
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [diffID, diffID, diffID] } }));
  const good = [
    { mediaType: MediaType.ociLayerGzip, bytes: gzip, diffID },
    { mediaType: MediaType.ociLayerZstd, bytes: zstd, diffID },
    { mediaType: MediaType.ociLayerTar, bytes: tar, diffID },
  ];
  const fetchBlob = new FetchBlob();

  it('serves the config from memory with its size, without asking the source', async () => {
    const { image, source } = imageOf(config, good);
    const answer = await fetchBlob.execute(image, digestOf(config));
    expect(answer.size).to.equal(config.length);
    expect((await drain(answer)).body.equals(config)).to.equal(true);
    expect(source.requested).to.deep.equal([]);
  });

  for (const layer of good) {
    it(`${layer.mediaType}: as stored, with its exact size`, async () => {
      const { image } = imageOf(config, good);
      const answer = await fetchBlob.execute(image, digestOf(layer.bytes));
      expect(answer.size).to.equal(layer.bytes.length);
      const { body, error } = await drain(answer);
      expect(error).to.equal(undefined);
      expect(body.equals(layer.bytes)).to.equal(true);
    });

    it(`${layer.mediaType}: decompressed to the tar that hashes to the diff ID`, async () => {
      const { image } = imageOf(config, good);
      const answer = await fetchBlob.execute(image, digestOf(layer.bytes), { decompress: true });
      // A decompressed length is known only at the end; an uncompressed layer keeps its size.
      expect(answer.size).to.equal(layer.mediaType === MediaType.ociLayerTar ? tar.length : undefined);
      const { body, error } = await drain(answer);
      expect(error).to.equal(undefined);
      expect(digestOf(body)).to.equal(diffID);
    });
  }

  // What containers/image's detection copes with: the media type says one thing, the bytes another.
  const mislabelled = [
    { name: 'a plain tar typed gzip (a docker archive layer)', layer: { mediaType: MediaType.ociLayerGzip, bytes: tar, diffID }, sized: true },
    { name: 'a gzip layer typed uncompressed', layer: { mediaType: MediaType.ociLayerTar, bytes: gzip, diffID }, sized: false },
    { name: 'a zstd layer typed gzip', layer: { mediaType: MediaType.ociLayerGzip, bytes: zstd, diffID }, sized: false },
  ];
  for (const { name, layer, sized } of mislabelled) {
    it(`${name}: decompressed as its bytes say, to the tar that hashes to the diff ID`, async () => {
      const { image } = imageOf(config, [layer]);
      const answer = await fetchBlob.execute(image, digestOf(layer.bytes), { decompress: true });
      expect(answer.size).to.equal(sized ? tar.length : undefined);
      const { body, error } = await drain(answer);
      expect(error).to.equal(undefined);
      expect(body.equals(tar)).to.equal(true);
    });
  }

  for (const layer of [...good, ...mislabelled.map((entry) => entry.layer)]) {
    it(`${layer.mediaType} holding ${detectCompression(layer.bytes)}: a wrong diff ID fails the decompressed stream with its tail withheld`, async () => {
      const wrongDiffID = digestOf(Buffer.from('some other tar'));
      const { image } = imageOf(config, [{ ...layer, diffID: wrongDiffID }]);
      const { body, error } = await drain(await fetchBlob.execute(image, digestOf(layer.bytes), { decompress: true }));
      expect(isProxyError(error) && error.code).to.equal('digest-mismatch');
      expect((error as Error).message).to.contain(wrongDiffID);
      expect(body.length, 'the last bytes never come out').to.be.lessThan(tar.length);
      expect(body.equals(tar.subarray(0, body.length)), 'what came out is a true prefix').to.equal(true);
    });
  }

  for (const [name, layer] of [
    ['gzip', good[0]!],
    ['zstd', good[1]!],
  ] as const) {
    for (const decompress of [false, true]) {
      it(`${name}: stored bytes that do not match the compressed digest fail the stream (decompress=${decompress})`, async () => {
        const stored = Buffer.from(layer.bytes);
        const middle = Math.floor(stored.length / 2);
        stored[middle] = stored[middle]! ^ 0xff;
        const { image } = imageOf(config, [{ ...layer, stored }]);
        const { body, error } = await drain(await fetchBlob.execute(image, digestOf(layer.bytes), { decompress }));
        expect(isProxyError(error) && error.code).to.equal('digest-mismatch');
        expect((error as Error).message).to.contain(digestOf(layer.bytes));
        expect(body.length).to.be.lessThan(decompress ? tar.length : stored.length);
      });
    }
  }

  it('a digest the image does not reference: blob-not-found, and the source is never asked', async () => {
    const { image, source } = imageOf(config, good);
    const other = digestOf(Buffer.from('not in this image'));
    const err = await rejection(fetchBlob.execute(image, other));
    expect([err.code, err.message]).to.deep.equal(['blob-not-found', `${other} is not a blob of this image`]);
    expect(source.requested).to.deep.equal([]);
  });

  it('a referenced layer the source lacks: its blob-not-found passes through', async () => {
    const missing = { mediaType: MediaType.ociLayerGzip, bytes: gzipSync(Buffer.from('gone')), diffID, stored: null };
    const { image, source } = imageOf(config, [...good, missing]);
    const err = await rejection(fetchBlob.execute(image, digestOf(missing.bytes)));
    expect([err.code, source.requested]).to.deep.equal(['blob-not-found', [digestOf(missing.bytes)]]);
  });

  it('a source announcing another size than the manifest: size-mismatch before any byte', async () => {
    const { image, source } = imageOf(config, good);
    source.announcedSize = gzip.length + 1;
    const err = await rejection(fetchBlob.execute(image, digestOf(gzip)));
    expect(err.code).to.equal('size-mismatch');
    expect(err.message)
      .to.contain(String(gzip.length + 1))
      .and.to.contain(String(gzip.length));
  });

  for (const [name, magic] of [
    ['bzip2', [0x42, 0x5a, 0x68, 0x39]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ] as const) {
    it(`a ${name} layer: decompress answers manifest-unsupported before any byte, and releases the source`, async () => {
      const bytes = Buffer.concat([Buffer.from(magic), randomBytes(100 * 1024)]);
      const { image, source } = imageOf(config, [{ mediaType: MediaType.ociLayerGzip, bytes, diffID }]);
      const err = await rejection(fetchBlob.execute(image, digestOf(bytes), { decompress: true }));
      expect([err.code, err.message]).to.deep.equal([
        'manifest-unsupported',
        `layer ${digestOf(bytes)} is ${name}-compressed, which this proxy cannot decompress (gzip and zstd are supported)`,
      ]);
      await new Promise(setImmediate);
      expect(
        source.opened.map((stream) => stream.destroyed),
        'the source stream is destroyed',
      ).to.deep.equal([true]);
    });
  }

  it('a stored layer that fails its digest before the first bytes are out: the answer is its failed stream, as for a later failure', async () => {
    const small = gzipSync(Buffer.from('a tiny tar'));
    const stored = Buffer.from(small);
    stored[stored.length - 1] = stored[stored.length - 1]! ^ 0xff;
    const { image } = imageOf(config, [{ mediaType: MediaType.ociLayerGzip, bytes: small, stored, diffID }]);
    const answer = await fetchBlob.execute(image, digestOf(small), { decompress: true });
    const failure = answer.stream.errored;
    expect(isProxyError(failure) ? failure.code : failure).to.equal('digest-mismatch');
  });

  it('an empty uncompressed layer decompresses to nothing, verified against the empty diff ID', async () => {
    const empty = new Uint8Array(0);
    const { image } = imageOf(config, [{ mediaType: MediaType.ociLayerTar, bytes: empty, diffID: digestOf(empty) }]);
    const answer = await fetchBlob.execute(image, digestOf(empty), { decompress: true });
    expect(answer.size).to.equal(0);
    expect(await drain(answer)).to.deep.equal({ body: Buffer.alloc(0), error: undefined });
  });

  it("decompress for a layer whose config entry is unusable: manifest-invalid with the config's problem, nothing fetched", async () => {
    const { image, source } = imageOf(config, [{ ...good[0]!, diffID: undefined }]);
    const [layer] = [...image.layers.values()];
    const broken = new Map([[layer!.info.digest, { ...layer!, info: { ...layer!.info, diffIDError: "the config's rootfs.diff_ids[0] is null" } }]]);
    const err = await rejection(fetchBlob.execute({ ...image, layers: broken }, digestOf(gzip), { decompress: true }));
    expect([err.code, err.message]).to.deep.equal([
      'manifest-invalid',
      `layer ${digestOf(gzip)}: the config's rootfs.diff_ids[0] is null, so its uncompressed form cannot be verified`,
    ]);
    expect(source.requested).to.deep.equal([]);
    const raw = await fetchBlob.execute({ ...image, layers: broken }, digestOf(gzip));
    expect((await drain(raw)).body.equals(gzip), 'the layer itself is still served').to.equal(true);
  });

  it('decompress for a layer without a diff ID: bad-request, nothing fetched', async () => {
    const { image, source } = imageOf(config, [{ ...good[0]!, diffID: undefined }]);
    const err = await rejection(fetchBlob.execute(image, digestOf(gzip), { decompress: true }));
    expect(err.code).to.equal('bad-request');
    expect(source.requested).to.deep.equal([]);
  });

  it('an empty layer whose digest is not the empty digest: digest-mismatch before any header', async () => {
    const { image } = imageOf(config, good);
    const fake = digestOf(Buffer.from('pretends to be empty'));
    const empty: ImageLayer = {
      source: { mediaType: MediaType.ociLayerTar, digest: fake, size: 0 },
      info: { digest: fake, size: 0, mediaType: MediaType.ociLayerTar, compression: 'none', diffID: undefined },
    };
    const err = await rejection(fetchBlob.execute({ ...image, layers: new Map([[fake, empty]]) }, fake));
    expect(err.code).to.equal('digest-mismatch');
  });

  it('an empty encrypted layer whose HMAC does not match: decryption-failed before any header (a Content-Length 0 body is complete at once)', async () => {
    const empty = new Uint8Array(0);
    const { image } = imageOf(config, [{ mediaType: MediaType.ociLayerTar, bytes: empty, diffID: undefined }]);
    const digest = digestOf(empty);
    const key = randomBytes(32);
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    const mediaType = `${MediaType.ociLayerGzip}+encrypted`;
    const layerWith = (hmac: Uint8Array): ImageLayer => {
      const annotations = {
        'org.opencontainers.image.enc.keys.jwe': b64(Buffer.from('wrapped')),
        'org.opencontainers.image.enc.pubopts': b64(Buffer.from(JSON.stringify({ cipher: 'AES_256_CTR_HMAC_SHA256', hmac: b64(hmac), cipheroptions: {} }))),
      };
      return {
        source: { mediaType, digest, size: 0, annotations },
        info: { digest, size: 0, mediaType, compression: 'gzip', diffID: undefined, encrypted: true },
      };
    };
    const privateOptions = Buffer.from(JSON.stringify({ symkey: b64(key), cipheroptions: { nonce: b64(randomBytes(16)) } }));
    const keys = () => new LayerKeys([{ scheme: 'jwe', unwrap: () => Promise.resolve(privateOptions) }]);
    const withLayer = (layer: ImageLayer) => ({ ...image, layers: new Map([[digest, layer]]) });

    const err = await rejection(new FetchBlob(keys()).execute(withLayer(layerWith(randomBytes(32))), digest, { decrypt: true }));
    expect(err.code).to.equal('decryption-failed');
    expect(err.message).to.match(/does not match its HMAC/);

    const answer = await new FetchBlob(keys()).execute(withLayer(layerWith(createHmac('sha256', key).digest())), digest, { decrypt: true });
    expect(answer.size).to.equal(0);
    expect(await drain(answer)).to.deep.equal({ body: Buffer.alloc(0), error: undefined });
  });

  it('an encrypted gzip layer whose plaintext is intact but whose HMAC does not match: ?decompress=true never completes, though the whole tar was decompressed before the HMAC was checked', async () => {
    const key = randomBytes(32);
    const nonce = randomBytes(16);
    const encrypt = createCipheriv('aes-256-ctr', key, nonce);
    const ciphertext = Buffer.concat([encrypt.update(gzip), encrypt.final()]);
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    const { image } = imageOf(config, [{ mediaType: MediaType.ociLayerTar, bytes: ciphertext, diffID }]);
    const digest = digestOf(ciphertext);
    const mediaType = `${MediaType.ociLayerGzip}+encrypted`;
    const layerWith = (hmac: Uint8Array): ImageLayer => {
      const annotations = {
        'org.opencontainers.image.enc.keys.jwe': b64(Buffer.from('wrapped')),
        'org.opencontainers.image.enc.pubopts': b64(Buffer.from(JSON.stringify({ cipher: 'AES_256_CTR_HMAC_SHA256', hmac: b64(hmac), cipheroptions: {} }))),
      };
      return {
        source: { mediaType, digest, size: ciphertext.length, annotations },
        info: { digest, size: ciphertext.length, mediaType, compression: 'gzip', diffID, encrypted: true },
      };
    };
    const privateOptions = Buffer.from(JSON.stringify({ symkey: b64(key), cipheroptions: { nonce: b64(nonce) } }));
    const read = (hmac: Uint8Array) =>
      new FetchBlob(new LayerKeys([{ scheme: 'jwe', unwrap: () => Promise.resolve(privateOptions) }]))
        .execute({ ...image, layers: new Map([[digest, layerWith(hmac)]]) }, digest, { decompress: true })
        .then(drain);

    const good = await read(createHmac('sha256', key).update(ciphertext).digest());
    expect(good.error).to.equal(undefined);
    expect(good.body.equals(tar)).to.equal(true);
    const cut = await read(randomBytes(32));
    expect((cut.error as ProxyError).code).to.equal('decryption-failed');
    expect(cut.body.length).to.be.lessThan(tar.length);
  });
});
