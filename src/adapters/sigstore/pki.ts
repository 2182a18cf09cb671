import { isIP } from 'node:net';
import { type X509Certificate } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import { buildChain, certificates, describeCertificate, leafCertificate, presentedIntermediates } from './fulcio.js';
import { type SigstorePublicKey } from './public-keys.js';
import { sanEmails, certificateExtensions } from './x509-extensions.js';

/** A policy's `pki` section with its certificate files read. */
export interface PkiRoot {
  readonly roots: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  readonly subjectEmail: string | undefined;
  readonly subjectHostname: string | undefined;
}

/** Certificates of a `caRoots*`/`caIntermediates*` source; none is a configuration error. */
export function parsePkiCertificates(pem: Uint8Array, where: string): X509Certificate[] {
  const found = certificates(Buffer.from(pem).toString('latin1'), (detail) => new ProxyError('policy-invalid', `${where}: ${detail}`));
  if (found.length === 0) throw new ProxyError('policy-invalid', `${where}: no PEM certificate found`);
  return found;
}

/**
 * c/image's verifyPKI: the leaf must chain, now, to a configured root through the configured
 * and presented intermediates, allow code signing, and carry the policy's email and/or
 * hostname (SAN only, as Go's VerifyHostname). No Rekor is involved. Rejects with `policy-rejected`.
 */
export function verifyPkiCertificate(
  root: PkiRoot,
  certificatePem: string,
  chainPem: string | undefined,
  now = new Date(),
): SigstorePublicKey & { readonly identity: string } {
  const leaf = leafCertificate(certificatePem);
  const chain = buildChain(leaf, [...root.intermediates, ...presentedIntermediates(chainPem)], root.roots, now);
  if (typeof chain === 'string') throw rejected(`the certificate ${describeCertificate(leaf)} does not chain to the configured CA roots: ${chain}`);
  if (root.subjectEmail !== undefined) {
    const emails = sanEmails(certificateExtensions(leaf));
    if (!emails.includes(root.subjectEmail))
      throw rejected(`required email ${JSON.stringify(root.subjectEmail)} not found in the certificate (it has ${JSON.stringify(emails)})`);
  }
  const host = root.subjectHostname;
  if (host !== undefined) {
    const matched = isIP(host) !== 0 ? leaf.checkIP(host) : leaf.checkHost(host, { subject: 'never' });
    if (matched === undefined) throw rejected(`the certificate is not for host ${JSON.stringify(host)}`);
  }
  const identity = [root.subjectEmail, host].filter((value) => value !== undefined).join(', ');
  return { key: leaf.publicKey, description: `certificate ${describeCertificate(leaf)} for ${identity}`, identity };
}

function rejected(detail: string): ProxyError {
  return new ProxyError('policy-rejected', `bad signature: ${detail}`);
}
