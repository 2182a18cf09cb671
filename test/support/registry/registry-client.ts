import { createHash } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { type RunningRegistry } from './registry-server.js';

/** Small direct-HTTP helpers for asserting what a test registry serves, independent of the proxy. */

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface Fetched {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export const basicAuthorization = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** A registry's dispatcher: trusts its test CA when it has one. The caller closes it. */
export function registryDispatcher(registry: RunningRegistry): Agent {
  return new Agent({ connect: registry.caPem === undefined ? {} : { ca: registry.caPem } });
}

/** `GET /v2/REPO/manifests/REF` with every manifest type accepted; the body read in full. */
export async function fetchManifest(
  registry: RunningRegistry,
  repository: string,
  reference: string,
  options: { authorization?: string; dispatcher?: Dispatcher } = {},
): Promise<Fetched> {
  const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
  if (options.authorization) headers.authorization = options.authorization;
  const dispatcher = options.dispatcher ?? registryDispatcher(registry);
  try {
    const response = await request(`${registry.url}/v2/${repository}/manifests/${reference}`, { headers, dispatcher });
    return { status: response.statusCode, headers: response.headers, body: Buffer.from(await response.body.arrayBuffer()) };
  } finally {
    if (options.dispatcher === undefined) await dispatcher.close();
  }
}

/** The quoted parameters of a `WWW-Authenticate` header (realm, service, scope, error…). */
export function challengeParams(header: string | string[] | undefined): Record<string, string> {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}
