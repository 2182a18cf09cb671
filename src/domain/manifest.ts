import { type Digest } from './digest.js';
import { type Platform } from './platform.js';

/** A content descriptor as OCI and docker schema2 manifests write it. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[] | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly platform?: (Platform & { readonly 'os.version'?: string; readonly 'os.features'?: readonly string[] }) | undefined;
}
