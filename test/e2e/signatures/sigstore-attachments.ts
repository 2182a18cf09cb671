import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { type RawPusher } from '../../support/registry/push.js';

/** Cosign-style signatures made in the test (Debian's skopeo cannot make sigstore ones). */

export type KeyKind = 'ecdsa-p256' | 'rsa' | 'ed25519';

export interface SigningKey {
  readonly kind: KeyKind;
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export function makeSigningKey(kind: KeyKind): SigningKey {
  const pair =
    kind === 'ecdsa-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return { kind, privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The payload cosign writes: a repository-only identity and `"optional": null`. */
export function cosignPayload(dockerReference: string, manifestDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** sigstore's verifiers: ECDSA DER over SHA-256, RSA PKCS#1 v1.5 with SHA-256, pure Ed25519. */
export function signPayload(key: SigningKey, payload: Uint8Array): Buffer {
  if (key.kind === 'ed25519') return sign(null, payload, key.privateKey);
  if (key.kind === 'ecdsa-p256') return sign('sha256', payload, { key: key.privateKey, dsaEncoding: 'der' });
  return sign('sha256', payload, key.privateKey);
}

export interface AttachedSignature {
  readonly payload: Uint8Array;
  readonly annotations: Readonly<Record<string, string>>;
  readonly mediaType?: string;
}

/** Pushes `sha256-<hex>.sig`: an OCI manifest whose layers are the signature payloads. */
export async function pushSigstoreAttachment(
  pusher: RawPusher,
  repository: string,
  imageDigest: string,
  signatures: readonly AttachedSignature[],
): Promise<void> {
  const config = Buffer.from('{"architecture":"","config":{},"os":"","rootfs":{"type":"layers","diff_ids":[]}}');
  const configDigest = await pusher.pushBlob(repository, config);
  const layers = [];
  for (const signature of signatures) {
    const digest = await pusher.pushBlob(repository, signature.payload);
    layers.push({
      mediaType: signature.mediaType ?? 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest,
      size: signature.payload.length,
      annotations: signature.annotations,
    });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers,
    }),
  );
  await pusher.pushManifest(repository, `${imageDigest.replace(':', '-')}.sig`, manifest, 'application/vnd.oci.image.manifest.v1+json');
}
