import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `content` in a CMS EnvelopedData as OpenSSL writes one (AES-128-CBC content, RSA key transport
 * to a fresh self-signed recipient, encrypted content last), with the recipient's private key.
 */
export function opensslEnvelope(content: Uint8Array): { envelope: Buffer; key: KeyObject } {
  const dir = mkdtempSync(join(tmpdir(), 'openssl-cms-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=cms', '-days', '1'],
      { stdio: 'ignore' },
    );
    writeFileSync(join(dir, 'content'), content);
    execFileSync(
      'openssl',
      ['cms', '-encrypt', '-binary', '-aes-128-cbc', '-in', join(dir, 'content'), '-outform', 'DER', '-out', join(dir, 'envelope.der'), join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { envelope: readFileSync(join(dir, 'envelope.der')), key: createPrivateKey(readFileSync(join(dir, 'key.pem'))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
