/**
 * Reads one certs.d host directory the way c/image's `tlsclientconfig.SetupCertificates` does:
 * every `*.crt` holds CA certificates to add to the system roots, every `*.cert` needs a `*.key`
 * of the same base name and vice versa. Files are visited in name order, as Go's ReadDir sorts.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyError } from '../../domain/errors.js';

export interface HostTls {
  /** Extra CA certificates (PEM, one per entry), to be trusted in addition to the system roots. */
  readonly ca?: string[];
  /** Client certificate chain and its private key (PEM). */
  readonly cert?: string;
  readonly key?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Like Go's `AppendCertsFromPEM`: takes every CERTIFICATE block that parses and ignores the rest,
 * so a stray key or comment in a .crt file does not break the host.
 */
function certificatesIn(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).filter((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
}

async function readCaFile(path: string): Promise<string[]> {
  try {
    return certificatesIn(await readFile(path, 'utf8'));
  } catch (err) {
    // A dangling link, or a file removed since the listing: c/image skips it too.
    if (errnoCode(err) === 'ENOENT') return [];
    throw new ProxyError('config-invalid', `cannot read CA certificate file ${path}: ${errnoCode(err) ?? 'error'}`, { cause: err });
  }
}

/** Loads and checks a client pair; the key file's content never reaches a message. */
async function readClientPair(certPath: string, keyPath: string): Promise<{ cert: string; key: string }> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (err) {
    throw new ProxyError('config-invalid', `cannot read client certificate ${certPath} or its key ${keyPath}: ${errnoCode(err) ?? 'error'}`, { cause: err });
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new ProxyError('config-invalid', `client certificate ${certPath} is not a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new ProxyError('config-invalid', `client key ${keyPath} is not a PEM private key`);
  }
  if (!matches) throw new ProxyError('config-invalid', `client key ${keyPath} does not belong to certificate ${certPath}`);
  return { cert, key };
}

/**
 * The TLS material in `dir`; undefined when the directory is missing, unreadable for lack of
 * permission (c/image skips it), or holds nothing relevant. When several client pairs are
 * present the first by name is used, which is also what Go falls back to.
 */
export async function readHostTls(dir: string): Promise<HostTls | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw new ProxyError('config-invalid', `cannot read certificate directory ${dir}: ${code ?? 'error'}`, { cause: err });
  }
  const present = new Set(names);
  for (const name of names) {
    if (name.endsWith('.cert') && !present.has(`${name.slice(0, -'.cert'.length)}.key`)) {
      throw new ProxyError(
        'config-invalid',
        `client certificate ${join(dir, name)} has no key ${name.slice(0, -'.cert'.length)}.key (CA certificates use the extension .crt)`,
      );
    }
    if (name.endsWith('.key') && !present.has(`${name.slice(0, -'.key'.length)}.cert`)) {
      throw new ProxyError('config-invalid', `client key ${join(dir, name)} has no certificate ${name.slice(0, -'.key'.length)}.cert`);
    }
  }

  const ca = (await Promise.all(names.filter((name) => name.endsWith('.crt')).map((name) => readCaFile(join(dir, name))))).flat();
  const pairs = await Promise.all(
    names.filter((name) => name.endsWith('.cert')).map((name) => readClientPair(join(dir, name), join(dir, `${name.slice(0, -'.cert'.length)}.key`))),
  );
  const [client] = pairs;
  if (ca.length === 0 && client === undefined) return undefined;
  return { ...(ca.length === 0 ? {} : { ca }), ...(client ?? {}) };
}
