import { type Digest } from '../../domain/digest.js';
import { type Signature, parseSignatureBlob } from '../../domain/signatures/signature.js';
import { type ImageSource } from '../../ports/transport.js';
import { type LookasideReader } from '../lookaside/lookaside-reader.js';
import { type RegistriesDirectory } from '../registries-d/registries-d.js';

export interface SignatureFinderOptions {
  readonly registriesD: RegistriesDirectory;
  readonly lookaside: LookasideReader;
}

/**
 * containers/image's GetSignaturesWithFormat for the source actually used: the registry's
 * extension API when it has one, else lookaside storage chosen by registries.d for the
 * source's (mirror's) reference; plus sigstore attachments when registries.d asks for them.
 * A local store keeps them with the image. Sources of other transports keep none.
 */
export class SignatureFinder {
  constructor(private readonly options: SignatureFinderOptions) {}

  async find(source: ImageSource, digest: Digest, signal?: AbortSignal): Promise<Signature[]> {
    const reference = source.reference;
    if (reference.transport === 'containers-storage') {
      // A local store keeps the signatures with the image; there is no lookaside for it.
      const blobs = (await source.storedSignatures?.(digest, signal)) ?? [];
      return blobs.map((blob, i) => parseSignatureBlob(blob, `signature ${i + 1} kept with the image in the store`));
    }
    if (reference.transport !== 'docker') return [];
    const storage = this.options.registriesD.storageFor(reference.docker);
    let blobs = await source.storedSignatures?.(digest, signal);
    let origin = 'the registry signature API';
    if (blobs === undefined) {
      blobs = await this.options.lookaside.read(storage.lookaside, reference.docker.path, digest, signal);
      origin = `lookaside ${storage.lookaside}`;
    }
    const signatures = blobs.map((blob, i) => parseSignatureBlob(blob, `signature ${i + 1} from ${origin}`));
    if (storage.useSigstoreAttachments && source.sigstoreAttachments) {
      signatures.push(...(await source.sigstoreAttachments(digest, signal)));
    }
    return signatures;
  }
}
