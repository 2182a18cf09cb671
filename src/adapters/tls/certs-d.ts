/**
 * Per-host TLS settings from certs.d directories (containers-certs.d(5)).
 *
 * Per-host mode: the first base directory that has an entry named `host[:port]` is the only one
 * used; entries that are missing or not accessible for lack of permission are passed over, as
 * c/image's `dockerCertDir` does. Flat mode (`--cert-dir DIR`, skopeo's flag): DIR itself holds
 * the files, for every host.
 *
 * The host is the reference's domain: `docker.io` is looked up as `docker.io` even though the
 * registry is served by registry-1.docker.io.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';
import { type HostTls, readHostTls } from './tls-files.js';

export type { HostTls } from './tls-files.js';

export type CertsDirectoriesOptions =
  /** Base directories holding one subdirectory per `host[:port]`, searched in order. */
  | { readonly dirs: readonly string[] }
  /** One directory used as is for every host (`--cert-dir`). */
  | { readonly certDir: string };

/** c/image's search order on Linux. */
export function defaultCertsDirectories(homeDir: string): string[] {
  return [join(homeDir, '.config', 'containers', 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'];
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class CertsDirectories {
  private readonly byHost = new Map<string, Promise<HostTls | undefined>>();

  constructor(private readonly options: CertsDirectoriesOptions) {}

  /** Extra CAs and a client certificate for `host[:port]`; undefined when nothing is configured. */
  async tlsFor(host: string, signal?: AbortSignal): Promise<HostTls | undefined> {
    signal?.throwIfAborted();
    if (host === '' || host === '.' || host === '..' || host.includes('/') || host.includes('\\')) {
      throw new ProxyError('invalid-reference', `"${host}" is not a registry host`);
    }
    let found = this.byHost.get(host);
    if (found === undefined) {
      found = this.load(host);
      this.byHost.set(host, found);
    }
    return found;
  }

  private async load(host: string): Promise<HostTls | undefined> {
    if ('certDir' in this.options) return readHostTls(this.options.certDir);
    const dir = await firstHostDirectory(this.options.dirs, host);
    return dir === undefined ? undefined : readHostTls(dir);
  }
}

async function firstHostDirectory(bases: readonly string[], host: string): Promise<string | undefined> {
  for (const base of bases) {
    const candidate = join(base, host);
    try {
      await stat(candidate);
      return candidate;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') continue;
      throw new ProxyError('config-invalid', `cannot use certificate directory ${candidate}: ${code ?? 'error'}`, { cause: err });
    }
  }
  return undefined;
}
