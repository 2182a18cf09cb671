/**
 * Size limits for what is read whole from an archive (containers/image's iolimits). The OCI layout
 * reader passes them for either storage; a directory's files are read whole, as containers/image does.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** For a docker archive's manifest.json and an OCI layout's index.json and oci-layout. */
export const MAX_ARCHIVE_INDEX_BYTES = 1024 * 1024;
