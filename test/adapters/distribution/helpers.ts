import { type Readable } from 'node:stream';
import { expect } from 'chai';
import { Agent } from 'undici';
import { type Digest } from '../../../src/domain/digest.js';
import { type ErrorCode, isProxyError } from '../../../src/domain/errors.js';
import { MediaType } from '../../../src/domain/media-types.js';
import { type ImageReference } from '../../../src/domain/reference.js';
import { DistributionTransport, type DistributionTransportOptions } from '../../../src/adapters/distribution/distribution-transport.js';
import { type Credentials } from '../../../src/ports/credential-store.js';
import { type FakeRegistry } from '../../support/fake-registry.js';

export const REPO = 'library/app';

/** A transport wired to the fake registry: plain http (tls-verify=false), a fresh Agent, fast retries. */
export function makeTransport(overrides: Partial<DistributionTransportOptions> & { readonly creds?: Credentials } = {}): {
  transport: DistributionTransport;
  cleanup: () => Promise<void>;
} {
  const agent = new Agent();
  const transport = new DistributionTransport({
    dispatcher: agent,
    credentials: { lookup: async () => overrides.creds },
    userAgent: 'container-image-proxy/test',
    tls: async () => undefined,
    tlsVerify: false,
    timeouts: { connectMs: 2000, idleMs: 2000 },
    retry: { initialDelayMs: 10, maxDelayMs: 3000 },
    ...overrides,
  });
  return {
    transport,
    cleanup: async () => {
      await transport.close();
      await agent.close();
    },
  };
}

export function dockerRef(registry: FakeRegistry, path = REPO, tagOrDigest: { tag?: string; digest?: Digest } = { tag: 'v1' }): ImageReference {
  return { transport: 'docker', docker: { domain: registry.host, path, ...tagOrDigest } };
}

/** A tiny OCI image stored in `registry` under `REPO:v1`, its layer bytes returned. */
export function storeImage(registry: FakeRegistry, layer: Uint8Array = Buffer.from('layer bytes'), repository = REPO): { layer: Digest; manifest: Digest } {
  const layerDigest = registry.putBlob(repository, layer) as Digest;
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const configDigest = registry.putBlob(repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: layerDigest, size: layer.length }],
    }),
  );
  return { layer: layerDigest, manifest: registry.putManifest(repository, manifest, MediaType.ociManifest, 'v1') as Digest };
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const err = await rejection(promise);
  expect(isProxyError(err) ? err.code : err, String(err)).to.equal(code);
  return err as Error;
}

/** Deterministic incompressible-looking bytes. */
export function patternBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
