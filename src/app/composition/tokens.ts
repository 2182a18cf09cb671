/** Service identifiers of the composition root; private to it. Ports get one each; Transport is multi-bound. */
export const Tokens = {
  Options: Symbol('ProxyOptions'),
  Transport: Symbol('Transport'),
  CredentialStore: Symbol('CredentialStore'),
  RegistriesConfig: Symbol('RegistriesConfig'),
  SignaturePolicy: Symbol('SignaturePolicy'),
  KeyUnwrappers: Symbol('KeyUnwrappers'),
  WantedPlatforms: Symbol('WantedPlatforms'),
  LayerKeys: Symbol('LayerKeys'),
  ResolveManifest: Symbol('ResolveManifest'),
  FetchBlob: Symbol('FetchBlob'),
  ImageApi: Symbol('ImageApi'),
  Log: Symbol('Log'),
} as const;
