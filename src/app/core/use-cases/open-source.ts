import { type Digest, digestAlgorithm, digestOf } from '../../../domain/digest.js';
import { ProxyError, toProxyError } from '../../../domain/errors.js';
import { formatImageName, type ImageReference } from '../../../domain/reference.js';
import { type Log } from '../../../ports/log.js';
import { type RegistriesConfig } from '../../../ports/registries-config.js';
import { type ImageSource, type OpenOptions, type RawManifest, type Transport } from '../../../ports/transport.js';

export interface OpenedImage {
  readonly source: ImageSource;
  /** The manifest the reference names, exactly as the source served it. */
  readonly manifest: RawManifest & { readonly digest: Digest };
}

/**
 * Opens the image at the first pull source that serves its manifest (registries.conf mirrors
 * in order, the primary last). That source then serves everything else: blobs and signatures.
 * Each source tried, each failure and the source that served are logged.
 */
export async function openFirstSource(
  reference: ImageReference,
  transports: ReadonlyMap<string, Transport>,
  registries: RegistriesConfig,
  log: Log,
  signal?: AbortSignal,
): Promise<OpenedImage> {
  const transport = transports.get(reference.transport);
  if (!transport) {
    throw new ProxyError(
      'unsupported-transport',
      `the ${reference.transport}: transport is not available in this build (available: ${[...transports.keys()].join(', ')})`,
    );
  }
  const candidates = await pullCandidates(reference, registries);
  const failures: { name: string; error: ProxyError }[] = [];
  const image = formatImageName(reference);
  for (const [index, candidate] of candidates.entries()) {
    signal?.throwIfAborted();
    const source = formatImageName(candidate.reference);
    const role = index < candidates.length - 1 ? 'mirror' : 'primary';
    const facts = { image, source, role };
    try {
      log.record('debug', 'pull-source', `${image}: trying ${role} ${source}`, { ...facts, outcome: 'trying' });
      if (candidate.blocked) throw new ProxyError('blocked', `registry of ${source} is blocked in registries.conf`);
      const opened = await openAndFetch(transport, candidate.reference, candidate.options, expectedDigest(reference), signal);
      log.record('info', 'pull-source', `${image}: served by ${role} ${source}`, { ...facts, outcome: 'served' });
      return opened;
    } catch (err) {
      if (signal?.aborted) throw err;
      const error = toProxyError(err);
      // The last source's failure is the one the client is answered with; the others would go unseen.
      const level = role === 'mirror' ? 'warn' : 'debug';
      log.record(level, 'pull-source', `${image}: ${role} ${source} failed: ${error.message}`, {
        ...facts,
        outcome: 'failed',
        code: error.code,
        error: error.message,
      });
      failures.push({ name: source, error });
    }
  }
  throw combineFailures(failures);
}

interface Candidate {
  readonly reference: ImageReference;
  readonly options: OpenOptions;
  readonly blocked: boolean;
}

async function pullCandidates(reference: ImageReference, registries: RegistriesConfig): Promise<Candidate[]> {
  if (reference.transport !== 'docker') return [{ reference, options: {}, blocked: false }];
  const sources = await registries.pullSources(reference.docker);
  // Credentials given for the registry asked for must not reach a mirror (or location) elsewhere.
  const requestedRegistry = reference.docker.domain;
  return sources.map((s) => ({
    reference: { transport: 'docker', docker: s.reference },
    options: { insecure: s.insecure, requestedRegistry },
    blocked: s.blocked,
  }));
}

/**
 * UnparsedImage.Manifest: a reference whose docker reference carries a digest gets only a
 * manifest that hashes to it (a containers-storage: NAME@DIGEST too: the store's files are not
 * trusted to match the digest they are kept under).
 */
function expectedDigest(reference: ImageReference): Digest | undefined {
  if (reference.transport === 'docker') return reference.docker.digest;
  if (reference.transport === 'containers-storage' && !reference.prefixMayBeName) return reference.named?.digest;
  return undefined;
}

async function openAndFetch(
  transport: Transport,
  reference: ImageReference,
  options: OpenOptions,
  expected: Digest | undefined,
  signal?: AbortSignal,
): Promise<OpenedImage> {
  const source = await transport.open(reference, options, signal);
  try {
    const raw = await source.manifest(undefined, signal);
    const digest = digestOf(raw.bytes, expected ? digestAlgorithm(expected) : 'sha256');
    if (expected !== undefined && digest !== expected) {
      throw new ProxyError('digest-mismatch', `manifest of ${formatImageName(reference)} hashes to ${digest}, not the requested digest`);
    }
    return { source, manifest: { ...raw, digest } };
  } catch (err) {
    await source.close().catch(() => undefined);
    throw err;
  }
}

/** containers/image's form: the primary's error first, then what each mirror said. */
function combineFailures(failures: { name: string; error: ProxyError }[]): ProxyError {
  const primary = failures[failures.length - 1];
  if (!primary) return new ProxyError('internal', 'no pull source to try');
  if (failures.length === 1) return primary.error;
  const mirrors = failures
    .slice(0, -1)
    .map((f) => `[${f.name}: ${f.error.message}]`)
    .join(' ');
  return new ProxyError(primary.error.code, `${primary.name}: ${primary.error.message} (mirrors also failed: ${mirrors})`, {
    cause: primary.error,
    ...(primary.error.upstreamCode ? { upstreamCode: primary.error.upstreamCode } : {}),
  });
}
