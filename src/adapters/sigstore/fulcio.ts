import { X509Certificate } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import { pemBlocks } from './pem.js';
import { type SigstorePublicKey } from './public-keys.js';
import {
  type CertificateExtension,
  certificateExtensions,
  derString,
  extendedKeyUsages,
  OID,
  sanEmails,
  unhandledCriticalExtensions,
} from './x509-extensions.js';

/** A policy's `fulcio` section, its CA file read and parsed. */
export interface FulcioRoot {
  readonly cas: readonly X509Certificate[];
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
}

/** Who a verified Fulcio certificate says signed. */
export interface FulcioIdentity {
  readonly publicKey: SigstorePublicKey;
  readonly subjectEmail: string;
  readonly oidcIssuer: string;
}

/** Every certificate of a CA bundle; none is a configuration error, as in c/image. */
export function parseFulcioCas(pem: Uint8Array, where: string): X509Certificate[] {
  const cas = certificates(Buffer.from(pem).toString('latin1'), (detail) => new ProxyError('policy-invalid', `${where}: ${detail}`));
  if (cas.length === 0) throw new ProxyError('policy-invalid', `${where}: no PEM certificate found in the Fulcio CA data`);
  return cas;
}

/**
 * c/image's verifyFulcioCertificateAtTime: the leaf (exactly one certificate) must chain to a
 * configured CA through the presented intermediates (every chain certificate but the last, which
 * would be the root and must come from the policy), every certificate valid at `at` (the Rekor
 * integration time) and allowing code signing; then its OIDC issuer extension and SAN email
 * must be the policy's. Rejects with `policy-rejected`.
 */
export function verifyFulcioCertificate(root: FulcioRoot, at: Date, certificatePem: string, chainPem: string | undefined): FulcioIdentity {
  const leaf = leafCertificate(certificatePem);
  const chain = buildChain(leaf, presentedIntermediates(chainPem), root.cas, at);
  if (typeof chain === 'string')
    throw rejected(`the Fulcio certificate ${describeCertificate(leaf)} does not chain to the configured CA at ${at.toISOString()}: ${chain}`);

  const extensions = certificateExtensions(leaf);
  const issuer = oidcIssuer(extensions);
  if (issuer !== root.oidcIssuer)
    throw rejected(`unexpected Fulcio OIDC issuer ${JSON.stringify(issuer)} (the policy wants ${JSON.stringify(root.oidcIssuer)})`);
  const emails = sanEmails(extensions);
  if (!emails.includes(root.subjectEmail))
    throw rejected(`required email ${JSON.stringify(root.subjectEmail)} not found in the certificate (it has ${JSON.stringify(emails)})`);
  return {
    publicKey: { key: leaf.publicKey, description: `Fulcio certificate for ${root.subjectEmail} from ${issuer}` },
    subjectEmail: root.subjectEmail,
    oidcIssuer: issuer,
  };
}

/** The one certificate of a signature's certificate annotation. */
export function leafCertificate(certificatePem: string): X509Certificate {
  const leaves = certificates(certificatePem, (detail) => rejected(`leaf certificate: ${detail}`));
  if (leaves.length !== 1)
    throw rejected(
      leaves.length === 0 ? "no certificate in the signature's certificate data" : "more than one certificate in the signature's certificate data",
    );
  return leaves[0]!;
}

/** The chain annotation's certificates but the last (the root, which must come from the policy instead). */
export function presentedIntermediates(chainPem: string | undefined): X509Certificate[] {
  return chainPem === undefined ? [] : certificates(chainPem, (detail) => rejected(`certificate chain: ${detail}`)).slice(0, -1);
}

/** The issuer from the v1 (raw) and/or v2 (DER string) extension; both present must agree. */
function oidcIssuer(extensions: readonly CertificateExtension[]): string {
  const v1 = extensions.find((extension) => extension.oid === OID.fulcioIssuerV1)?.value.toString('utf8');
  const v2raw = extensions.find((extension) => extension.oid === OID.fulcioIssuerV2)?.value;
  const v2 = v2raw === undefined ? undefined : derString(v2raw);
  if (v1 !== undefined && v2 !== undefined && v1 !== v2)
    throw rejected(`inconsistent OIDC issuer extensions: v1 ${JSON.stringify(v1)}, v2 ${JSON.stringify(v2)}`);
  const issuer = v1 ?? v2;
  if (issuer === undefined) throw rejected('the Fulcio certificate has no OIDC issuer extension');
  return issuer;
}

/** Depth-first, as Go's Verify builds chains; returns the chain or why none was found. */
export function buildChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  at: Date,
): X509Certificate[] | string {
  const leafProblem = problemAt(leaf, at, 'leaf');
  if (leafProblem !== undefined) return leafProblem;
  const problems: string[] = [];
  const extend = (chain: X509Certificate[]): X509Certificate[] | undefined => {
    const current = chain[chain.length - 1]!;
    for (const candidate of roots) {
      if (!issued(current, candidate)) continue;
      const problem = problemAt(candidate, at, 'root') ?? codeSigningProblem([...chain, candidate]);
      if (problem === undefined) return [...chain, candidate];
      problems.push(problem);
    }
    if (chain.length > 8) return undefined;
    for (const candidate of intermediates) {
      if (chain.includes(candidate) || !issued(current, candidate)) continue;
      const problem = problemAt(candidate, at, 'intermediate');
      if (problem !== undefined) {
        problems.push(problem);
        continue;
      }
      const found = extend([...chain, candidate]);
      if (found) return found;
    }
    return undefined;
  };
  return extend([leaf]) ?? (problems.length > 0 ? problems.join('; ') : 'signed by an unknown authority');
}

function issued(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function problemAt(certificate: X509Certificate, at: Date, role: 'leaf' | 'intermediate' | 'root'): string | undefined {
  if (at < certificate.validFromDate || at > certificate.validToDate) {
    return `${role} ${describeCertificate(certificate)} is valid from ${certificate.validFromDate.toISOString()} to ${certificate.validToDate.toISOString()}`;
  }
  if (role === 'intermediate' && !certificate.ca) return `intermediate ${describeCertificate(certificate)} is not a CA`;
  const unhandled = unhandledCriticalExtensions(certificateExtensions(certificate));
  if (unhandled.length > 0) return `${role} ${describeCertificate(certificate)} has unhandled critical extension(s) ${unhandled.join(', ')}`;
  return undefined;
}

/** Go's chain key-usage rule: a certificate that lists extended key usages must allow code signing. */
function codeSigningProblem(chain: readonly X509Certificate[]): string | undefined {
  for (const certificate of chain) {
    const usages = extendedKeyUsages(certificateExtensions(certificate));
    if (usages !== undefined && !usages.includes(OID.codeSigning) && !usages.includes(OID.anyExtKeyUsage)) {
      return `${describeCertificate(certificate)} does not allow code signing`;
    }
  }
  return undefined;
}

export function certificates(text: string, error: (detail: string) => ProxyError): X509Certificate[] {
  return pemBlocks(text)
    .filter((block) => block.type === 'CERTIFICATE')
    .map((block) => {
      try {
        return new X509Certificate(block.der);
      } catch (err) {
        throw error(`not an X.509 certificate (${(err as Error).message})`);
      }
    });
}

export function describeCertificate(certificate: X509Certificate): string {
  return JSON.stringify(certificate.subject.replace(/\n/g, ', ') || `serial ${certificate.serialNumber}`);
}

function rejected(detail: string): ProxyError {
  return new ProxyError('policy-rejected', `bad signature: ${detail}`);
}
