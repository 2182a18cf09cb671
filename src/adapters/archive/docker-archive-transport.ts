import { digestOf, type Digest } from '../../domain/digest.js';
import { ProxyError } from '../../domain/errors.js';
import { type ImageReference, type TransportName } from '../../domain/reference.js';
import { MAX_ARCHIVE_MANIFEST_BYTES, MAX_CONFIG_BYTES } from '../../domain/size-limits.js';
import { type ImageSource, type OpenOptions, type Transport } from '../../ports/transport.js';
import { parseJsonFile } from '../oci-layout/local-files.js';
import { detectCompression, MAGIC_LENGTH } from '../../domain/layers.js';
import { countBytes } from './compression.js';
import { chooseManifestItem, configDiffIds, generatedManifest, parseTarManifest, type TarManifestItem } from './docker-archive-manifest.js';
import { type ArchiveLayer, DockerArchiveSource, uncompressed } from './docker-archive-source.js';
import { type TarEntry, TarIndex } from './tar-index.js';

/**
 * `docker-archive:PATH[:NAME:TAG|:@INDEX]`: a `docker save` tar (optionally gzip or zstd
 * compressed), read in place. The manifest is generated from manifest.json and the config.
 */
export class DockerArchiveTransport implements Transport {
  readonly name: TransportName = 'docker-archive';

  async open(reference: ImageReference, _options: OpenOptions, signal?: AbortSignal): Promise<ImageSource> {
    if (reference.transport !== 'docker-archive') {
      throw new ProxyError('internal', `the docker-archive transport was asked to open a ${reference.transport} reference`);
    }
    const archive = await TarIndex.build(reference.path, signal);
    return openArchivedImage(archive, reference, (items) => chooseManifestItem(items, reference, archive.path), signal);
  }
}

/**
 * The image of an indexed `docker save` archive that `choose` picks from manifest.json, served
 * as containers/image's tarfile source serves it; `reference` is what the source reports.
 */
export async function openArchivedImage(
  archive: TarIndex,
  reference: ImageReference,
  choose: (items: readonly TarManifestItem[]) => TarManifestItem,
  signal?: AbortSignal,
): Promise<DockerArchiveSource> {
  const listName = `${archive.name}: manifest.json`;
  const list = archive.find('manifest.json');
  if (list === undefined) throw new ProxyError('manifest-invalid', `${archive.name} is not a docker archive: it has no manifest.json`);
  const item = choose(parseTarManifest(parseJsonFile(await archive.read(list, MAX_ARCHIVE_MANIFEST_BYTES, signal), listName), listName));

  const configBytes = await archive.read(requireEntry(archive, item.config, 'config'), MAX_CONFIG_BYTES, signal);
  const configName = `${archive.name}: ${item.config}`;
  const diffIds = configDiffIds(parseJsonFile(configBytes, configName), configName);
  const layers = await indexLayers(archive, item, diffIds, signal);
  const config = { digest: digestOf(configBytes), bytes: configBytes };
  const manifest = generatedManifest(
    { digest: config.digest, size: configBytes.length },
    diffIds.map((diffId) => ({ diffId, size: layers.get(diffId)!.size })),
  );
  return new DockerArchiveSource({ reference, archive, manifest, config, layers });
}

function requireEntry(archive: TarIndex, name: string, role: string): TarEntry {
  const entry = archive.find(name);
  if (entry === undefined) throw new ProxyError('manifest-invalid', `${archive.name}: the ${role} file ${name} listed in manifest.json is missing`);
  return entry;
}

/** Pairs layer files with diffIDs and learns each layer's uncompressed size, as containers/image does at open. */
async function indexLayers(archive: TarIndex, item: TarManifestItem, diffIds: readonly Digest[], signal?: AbortSignal): Promise<Map<Digest, ArchiveLayer>> {
  if (item.layers.length !== diffIds.length) {
    throw new ProxyError(
      'manifest-invalid',
      `${archive.name}: inconsistent layer count, ${item.layers.length} in manifest.json and ${diffIds.length} in ${item.config}`,
    );
  }
  const layers = new Map<Digest, ArchiveLayer>();
  const diffIdOfFile = new Map<string, Digest>();
  for (const [i, name] of item.layers.entries()) {
    const diffId = diffIds[i]!;
    const entry = requireEntry(archive, name, 'layer');
    const earlier = diffIdOfFile.get(entry.name);
    if (earlier !== undefined && earlier !== diffId) {
      throw new ProxyError('manifest-invalid', `${archive.name}: layer file ${name} is listed for two different diffIDs`);
    }
    diffIdOfFile.set(entry.name, diffId);
    if (layers.has(diffId)) continue;
    const compression = detectCompression(await archive.read({ ...entry, size: Math.min(entry.size, MAGIC_LENGTH) }, MAGIC_LENGTH, signal));
    const layer: ArchiveLayer = { entry, compression, size: entry.size };
    layers.set(diffId, compression === 'none' ? layer : { ...layer, size: await uncompressedSize(archive, layer, signal) });
  }
  return layers;
}

async function uncompressedSize(archive: TarIndex, layer: ArchiveLayer, signal?: AbortSignal): Promise<number> {
  try {
    return await countBytes(uncompressed(archive, layer, signal));
  } catch (err) {
    if (err instanceof ProxyError || (err instanceof Error && err.name === 'AbortError')) throw err;
    throw new ProxyError('manifest-invalid', `${archive.name}: layer file ${layer.entry.name} does not decompress: ${(err as Error).message}`, { cause: err });
  }
}
