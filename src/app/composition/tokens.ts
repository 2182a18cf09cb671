/** Service identifiers of the composition root. Ports get one each; Transport is multi-bound. */
export const Tokens = {
  Transport: Symbol.for('container-image-proxy.Transport'),
  CredentialStore: Symbol.for('container-image-proxy.CredentialStore'),
  RegistriesConfig: Symbol.for('container-image-proxy.RegistriesConfig'),
  SignaturePolicy: Symbol.for('container-image-proxy.SignaturePolicy'),
  WantedPlatforms: Symbol.for('container-image-proxy.WantedPlatforms'),
  ResolveManifest: Symbol.for('container-image-proxy.ResolveManifest'),
  FetchBlob: Symbol.for('container-image-proxy.FetchBlob'),
  ImageApi: Symbol.for('container-image-proxy.ImageApi'),
  Log: Symbol.for('container-image-proxy.Log'),
} as const;
