import { type Platform } from '../domain/platform.js';
import { type ImageReference } from '../domain/reference.js';

/**
 * Everything the composition root needs, as plain data. Only the CLI entry reads argv and the
 * environment to fill this in; adapters receive the slices they need.
 */
export interface ProxyOptions {
  /** The image the seed API serves. */
  readonly image: ImageReference;
  /** Overrides of the wanted platform (skopeo's --override-os/-arch/-variant). */
  readonly platform: { readonly os?: string | undefined; readonly architecture?: string | undefined; readonly variant?: string | undefined };
  /** policy.json path (`--policy`); undefined → the default search. */
  readonly policyPath?: string | undefined;
  /** `--insecure-policy`: accept anything without reading policy.json. */
  readonly insecurePolicy: boolean;
  /** Environment and home directory the configuration adapters resolve default paths from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** The platform to prefer from manifest lists; detected from this host when absent. */
  readonly hostPlatform?: Platform | undefined;
}
