import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../support/registry/processes.js';

/** Throwaway GPG keys in a private GNUPGHOME (no passphrase, signing only). */
export interface GpgHome {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Generates a key and returns its fingerprint. */
  generate(uid: string): Promise<string>;
  /** Writes the public key (binary, as `gpg --export` makes it) to `path`. */
  exportPublic(fingerprint: string, path: string, armor?: boolean): Promise<void>;
}

export function gpgHome(dir: string): GpgHome {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: dir };
  return {
    dir,
    env,
    async generate(uid) {
      await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', uid, 'rsa2048', 'sign', 'never'], { env });
      const listing = await run('gpg', ['--batch', '--with-colons', '--list-keys', uid], { env });
      const fingerprint = listing.stdout
        .split('\n')
        .find((line) => line.startsWith('fpr:'))
        ?.split(':')[9];
      if (fingerprint === undefined) throw new Error(`gpg made no key for ${uid}`);
      return fingerprint;
    },
    async exportPublic(fingerprint, path, armor = false) {
      await run('gpg', ['--batch', '--yes', ...(armor ? ['--armor'] : []), '--output', path, '--export', fingerprint], { env });
    },
  };
}

export function gpgAgentCleanup(home: GpgHome): Promise<unknown> {
  return run('gpgconf', ['--kill', 'gpg-agent'], { env: home.env }).catch(() => undefined);
}

export const lookasideDir = (root: string, repository: string, digest: string): string => join(root, `${repository}@${digest.replace(':', '=')}`);
