import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.js';

/** A throwaway CA and one certificate it signed, all as files in a test's temp dir. */
export interface TestPki {
  readonly caPath: string;
  readonly caPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Makes a CA and a leaf certificate for `commonName` with openssl. `altNames` become the
 * subjectAltName (e.g. `IP:127.0.0.1`, `DNS:localhost`), which TLS clients check.
 */
export async function makeTestPki(dir: string, commonName: string, altNames: readonly string[]): Promise<TestPki> {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'leaf.key');
  const csrPath = join(dir, 'leaf.csr');
  const certPath = join(dir, 'leaf.crt');
  const extPath = join(dir, 'leaf.ext');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caPath,
    '-days',
    '2',
    '-subj',
    '/CN=container-image-proxy test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${commonName}`]);
  const extensions = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth'];
  if (altNames.length > 0) extensions.push(`subjectAltName=${altNames.join(',')}`);
  writeFileSync(extPath, `${extensions.join('\n')}\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    caPath,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    certPath,
    '-days',
    '2',
    '-sha256',
    '-extfile',
    extPath,
  ]);
  return {
    caPath,
    caPem: readFileSync(caPath, 'utf8'),
    certPath,
    keyPath,
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
  };
}
