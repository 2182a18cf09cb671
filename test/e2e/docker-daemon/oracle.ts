/**
 * What skopeo makes of a docker-daemon: image (the oracle): `skopeo inspect` for the digest,
 * and `skopeo copy --format oci` (uncompressed layers accepted, so nothing is recompressed) for
 * the manifest, config and blobs containers/image serves. Then the same image fetched through
 * the proxy must be those bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Digest, digestHex, parseDigest } from '../../../src/domain/digest.js';
import { type SkopeoEnvironment, skopeo } from '../../support/registry/skopeo.js';
import { type ProxyProcess } from '../../support/spawn-proxy.js';
import { fetchVerifiedImage, jsonOf, type OciManifest } from '../registry/proxy-session.js';

export interface SkopeoView {
  /** `skopeo inspect`'s Digest: the generated manifest's. */
  readonly digest: string;
  readonly manifest: Buffer;
  readonly config: Buffer;
  readonly layout: string;
}

export async function skopeoView(env: SkopeoEnvironment, daemonHost: string, image: string, layout: string): Promise<SkopeoView> {
  const inspected = JSON.parse((await skopeo(env, ['inspect', '--daemon-host', daemonHost, image])).stdout) as { Digest: string };
  await skopeo(env, [
    'copy',
    '--quiet',
    '--format',
    'oci',
    '--dest-oci-accept-uncompressed-layers',
    '--src-daemon-host',
    daemonHost,
    image,
    `oci:${layout}:copied`,
  ]);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  expect(index.manifests, 'skopeo copied one image').to.have.length(1);
  const manifest = readFileSync(blobPath(layout, index.manifests[0]!.digest));
  const config = readFileSync(blobPath(layout, (JSON.parse(manifest.toString()) as OciManifest).config.digest));
  return { digest: inspected.Digest, manifest, config, layout };
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digestHex(parseDigest(digest)));
}

/** Fetches the whole image through the proxy and compares every byte with skopeo's copy. */
export async function expectSkopeosImage(proxy: ProxyProcess, oracle: SkopeoView): Promise<OciManifest> {
  const image = await fetchVerifiedImage(proxy);
  expect(image.manifest.headers['manifest-digest'], "Manifest-Digest is skopeo inspect's Digest").to.equal(oracle.digest);
  expect(image.manifest.body.toString(), 'manifest').to.equal(oracle.manifest.toString());
  expect(image.config.body.equals(oracle.config), 'config').to.equal(true);
  for (const [digest, bytes] of image.blobs) {
    expect(bytes.equals(readFileSync(blobPath(oracle.layout, digest as Digest))), `blob ${digest} is what skopeo copied`).to.equal(true);
  }
  const layers = await proxy.request('GET', '/layers');
  expect(layers.status).to.equal(200);
  const listed = jsonOf<{ digest: string; compression: string; diffID: string }[]>(layers);
  expect(listed.map((layer) => [layer.digest, layer.compression, layer.diffID])).to.deep.equal(
    image.parsed.layers.map((layer) => [layer.digest, 'none', layer.digest]),
  );
  return image.parsed;
}
