/**
 * How much the proxy reads whole into memory, wherever it reads from: registries, OCI layouts,
 * dir: images, archives and lookaside storage share these (containers/image's iolimits, whose
 * values they are). Anything larger is refused, never read.
 */
const MIB = 1024 * 1024;

/** Manifests and image indexes, including an OCI layout's index.json (MaxManifestBodySize). */
export const MAX_MANIFEST_BYTES = 4 * MIB;
/** Image configs (MaxConfigBodySize). */
export const MAX_CONFIG_BYTES = 4 * MIB;
/** One signature, and each sigstore payload layer (MaxSignatureBodySize). */
export const MAX_SIGNATURE_BYTES = 4 * MIB;
/** The registry signature extension's list (MaxSignatureListBodySize). */
export const MAX_SIGNATURE_LIST_BYTES = 4 * MIB;
/** A docker archive's manifest.json and an OCI layout's oci-layout file (MaxTarFileManifestSize). */
export const MAX_ARCHIVE_MANIFEST_BYTES = 1 * MIB;
/** A token endpoint's answer (MaxAuthTokenBodySize). */
export const MAX_TOKEN_BYTES = 1 * MIB;
/**
 * The entries of an archive, indexed in memory (names, link targets, offsets). containers/image
 * scans archives again for each file instead; this bounds what the index may hold (each name is
 * also limited to 4 MiB by the tar parser), about 60,000 entries of ordinary names.
 */
export const MAX_TAR_INDEX_BYTES = 16 * MIB;
/**
 * A Docker engine's image export, copied to a temporary file before it is read, as containers/image
 * copies it (without a limit): an engine that never stops sending must not fill $TMPDIR.
 */
export const MAX_ENGINE_EXPORT_BYTES = 64 * 1024 * MIB;
