/**
 * The package's library entry (`import { ImageProxy } from 'container-image-proxy'`): a typed
 * client that spawns the proxy over socketpairs. It depends on nothing but Node and undici.
 */
export { ImageProxy, type BlobOptions, type CallOptions, type Progress, type ProgressCallback } from './image-proxy.js';
export { CLIENT_ERROR_CODES, ImageProxyError, PROXY_ERROR_CODES, type ClientErrorCode, type ImageProxyErrorCode, type ProxyErrorCode } from './errors.js';
export { DEFAULT_CONNECTIONS, defaultCommand, type SpawnOptions } from './spawn-proxy.js';
export type { Descriptor, ExitStatus, ImageConfig, LayerCompression, LayerInfo, ManifestAnswer, OciManifest, VersionInfo } from './types.js';
