/** Media types of the manifests, configs and layers this proxy understands. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociForeignLayerTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociForeignLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociForeignLayerZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerSchema2: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerTar: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The Accept list for manifest requests, in containers/image's order: OCI and docker schema 2 first, lists last. */
export const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.dockerSchema2,
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
  MediaType.dockerList,
  MediaType.ociIndex,
] as const;
