#!/usr/bin/env node
/**
 * A proxy entry point with a credential source of its own, plugged in through the composition
 * root. It takes exactly the command line of `container-image-proxy`; credentials come from a
 * JSON file named by EXAMPLE_CREDENTIALS_FILE:
 *
 *     { "registry.example.com": { "username": "ci", "password": "…" } }
 *
 * Your program might ask a vault, a cloud metadata service or a secrets manager instead: anything
 * that implements `CredentialStore.lookup({ registry, repository })`.
 *
 *     EXAMPLE_CREDENTIALS_FILE=creds.json node dist/examples/custom-credentials.js --sockfd 3 docker://…
 *
 * or from a client: `ImageProxy.spawn({ command: [process.execPath, 'my-proxy.js'], image })`.
 * In an installed package, import from 'container-image-proxy/proxy' instead of the source path.
 */
import { readFile } from 'node:fs/promises';
import { type Credentials, type CredentialStore, type CredentialTarget, ProxyError, runProxy } from '../src/app/embed.js';

class JsonFileCredentials implements CredentialStore {
  private entries: Promise<Record<string, Credentials>> | undefined;

  constructor(private readonly path: string | undefined) {}

  async lookup(target: CredentialTarget): Promise<Credentials | undefined> {
    // `undefined` means "nothing for this registry": the request then goes out anonymously.
    return (await this.load())[target.registry];
  }

  private load(): Promise<Record<string, Credentials>> {
    this.entries ??= this.path === undefined ? Promise.resolve({}) : this.read(this.path);
    return this.entries;
  }

  private async read(path: string): Promise<Record<string, Credentials>> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as Record<string, Credentials>;
    } catch (err) {
      // Name the file, never its content: it holds secrets.
      throw new ProxyError('config-invalid', `cannot read credentials from ${path}: ${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}`);
    }
  }
}

process.exit(await runProxy(process.argv.slice(2), { credentials: new JsonFileCredentials(process.env['EXAMPLE_CREDENTIALS_FILE']) }));
