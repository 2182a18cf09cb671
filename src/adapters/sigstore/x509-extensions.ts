import { type X509Certificate } from 'node:crypto';
import { ProxyError } from '../../domain/errors.js';
import { derReader } from '../der/der-reader.js';

/**
 * node:crypto's X509Certificate verifies signatures and names but exposes neither arbitrary
 * extensions (Fulcio records the OIDC issuer in its own) nor a structured SAN, so the few parts
 * Go's crypto/x509 gives c/image are read here from the certificate's DER.
 */

export interface CertificateExtension {
  /** Dotted OID, e.g. `2.5.29.17`. */
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's contents. */
  readonly value: Buffer;
}

export const OID = {
  subjectAltName: '2.5.29.17',
  extKeyUsage: '2.5.29.37',
  anyExtKeyUsage: '2.5.29.37.0',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  /** Fulcio's first issuer extension: the issuer URL as raw bytes (deprecated, still accepted). */
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  /** Fulcio's current issuer extension: a DER string. */
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
} as const;

/** Critical extensions Go's crypto/x509 understands; any other critical one fails verification there. */
const HANDLED_CRITICAL = new Set([
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.19',
  '2.5.29.30',
  '2.5.29.31',
  '2.5.29.32',
  '2.5.29.35',
  '2.5.29.37',
  '1.3.6.1.5.5.7.1.1',
]);

const { readElement, children, oidString } = derReader(malformed);

const SEQUENCE = 0x30;
const EXTENSIONS_TAG = 0xa3;

/** Every extension of the certificate, refusing duplicates as Go does since 1.19. */
export function certificateExtensions(certificate: X509Certificate): CertificateExtension[] {
  const outer = readElement(certificate.raw, 0);
  const tbs = children(outer.content)[0];
  if (outer.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw malformed('not a certificate');
  const wrapper = children(tbs.content).find((element) => element.tag === EXTENSIONS_TAG);
  if (wrapper === undefined) return [];
  const list = children(wrapper.content)[0];
  if (list?.tag !== SEQUENCE) throw malformed('extensions are not a sequence');
  const seen = new Set<string>();
  return children(list.content).map((extension) => {
    const parts = children(extension.content);
    const oid = oidString(parts[0]?.content ?? Buffer.alloc(0));
    if (seen.has(oid)) throw malformed(`duplicate extension ${oid}`);
    seen.add(oid);
    const critical = parts.length === 3 && parts[1]?.tag === 0x01 && parts[1].content[0] !== 0;
    const value = parts[parts.length - 1];
    if (value?.tag !== 0x04) throw malformed(`extension ${oid} has no value`);
    return { oid, critical, value: value.content };
  });
}

/** rfc822Name entries of the subjectAltName extension ([1] IMPLICIT IA5String). */
export function sanEmails(extensions: readonly CertificateExtension[]): string[] {
  const san = extensions.find((extension) => extension.oid === OID.subjectAltName);
  if (san === undefined) return [];
  const names = readElement(san.value, 0);
  return children(names.content)
    .filter((name) => name.tag === 0x81)
    .map((name) => name.content.toString('latin1'));
}

/** Extended key usage OIDs; undefined when the certificate does not restrict them. */
export function extendedKeyUsages(extensions: readonly CertificateExtension[]): string[] | undefined {
  const eku = extensions.find((extension) => extension.oid === OID.extKeyUsage);
  if (eku === undefined) return undefined;
  return children(readElement(eku.value, 0).content).map((element) => oidString(element.content));
}

/** Critical extensions Go would refuse to verify a certificate with (SAN excepted, as c/image does). */
export function unhandledCriticalExtensions(extensions: readonly CertificateExtension[]): string[] {
  return extensions.filter((extension) => extension.critical && !HANDLED_CRITICAL.has(extension.oid)).map((extension) => extension.oid);
}

/** UTF8String, PrintableString or IA5String, as Go's asn1.Unmarshal into a string accepts them. */
export function derString(value: Buffer): string {
  const element = readElement(value, 0);
  if (element.end !== value.length) throw malformed('trailing data after a string');
  if (![0x0c, 0x13, 0x16].includes(element.tag)) throw malformed(`ASN.1 tag ${element.tag} is not a string`);
  return element.content.toString(element.tag === 0x0c ? 'utf8' : 'latin1');
}

function malformed(detail: string): ProxyError {
  return new ProxyError('policy-rejected', `bad signature: malformed certificate (${detail})`);
}
