/**
 * The package's embedding entry (`container-image-proxy/proxy`): run the proxy inside your own
 * program or entry point with any port replaced — a credential source of your own, an
 * alternative transport, a different registries configuration or signature policy, a key
 * unwrapper for encrypted layers whose keys are held elsewhere.
 */
export { runProxy } from './driving/run-proxy.js';
export { createImageApi, type PortOverrides } from './composition/container.js';
export type { DaemonOptions, ProxyOptions, RegistryOptions } from './composition/options.js';
export { ProxyError, type ErrorCode } from '../domain/errors.js';
export type { DockerReference, ImageReference } from '../domain/reference.js';
export type { Credentials, CredentialStore, CredentialTarget } from '../ports/credential-store.js';
export type { PullSource, RegistriesConfig } from '../ports/registries-config.js';
export type { PolicySubject, SignaturePolicy } from '../ports/signature-policy.js';
export type { BlobBody, BlobRequest, ImageSource, OpenOptions, RawManifest, Transport } from '../ports/transport.js';
export type { ImageApi } from '../ports/image-api.js';
export type { KeyUnwrapper } from '../ports/key-unwrapper.js';
export type { KeyWrapScheme } from '../domain/layer-encryption.js';
