import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway Fulcio (CA, intermediate and leaf certificates made by openssl, with Fulcio's
 * OIDC issuer extensions and an email SAN) and a throwaway Rekor (an ECDSA key signing SETs the
 * test builds), for cosign-style keyless signatures checked offline.
 */

const run = promisify(execFile);

export const ISSUER = 'https://oidc.example.com';
export const EMAIL = 'signer@example.com';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

export interface LeafOptions {
  readonly email?: string;
  /** Fulcio's deprecated extension (raw bytes); undefined leaves it out. */
  readonly issuerV1?: string;
  /** Fulcio's current extension (DER UTF8String). */
  readonly issuerV2?: string;
  readonly issuedBy?: 'ca' | 'intermediate' | 'other-ca';
  readonly extendedKeyUsage?: string;
  /** More subjectAltName entries, e.g. `DNS:signer.example.com`. */
  readonly extraSan?: string;
}

export interface Leaf {
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

export interface TestFulcio {
  readonly caPem: string;
  readonly otherCaPem: string;
  readonly intermediatePem: string;
  leaf(options?: LeafOptions): Promise<Leaf>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export async function makeTestFulcio(dir: string): Promise<TestFulcio> {
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      dir,
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      `${ca}.key`,
      '-subj',
      `/CN=${ca}`,
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
      '-out',
      `${ca}.pem`,
    );
  }
  await issue(dir, 'intermediate', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nextendedKeyUsage=codeSigning\n');
  let serial = 0;
  return {
    caPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
    otherCaPem: await readFile(join(dir, 'other-ca.pem'), 'utf8'),
    intermediatePem: await readFile(join(dir, 'intermediate.pem'), 'utf8'),
    async leaf(options = {}) {
      const name = `leaf${++serial}`;
      const lines = [
        `subjectAltName=critical,email:${options.email ?? EMAIL}${options.extraSan === undefined ? '' : `,${options.extraSan}`}`,
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${options.extendedKeyUsage ?? 'codeSigning'}`,
      ];
      if (options.issuerV1 !== undefined) lines.push(`1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(options.issuerV1).toString('hex')}`);
      if (options.issuerV2 !== undefined) lines.push(`1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${options.issuerV2}`);
      await issue(dir, name, options.issuedBy ?? 'ca', `${lines.join('\n')}\n`);
      return { certificatePem: await readFile(join(dir, `${name}.pem`), 'utf8'), privateKey: createPrivateKey(await readFile(join(dir, `${name}.key`))) };
    },
  };
}

async function issue(dir: string, name: string, issuer: string, extensions: string): Promise<void> {
  await openssl(dir, 'req', '-new', ...newKey, '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
}

export interface TestRekor {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export function makeTestRekor(): TestRekor {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface SetEntry {
  readonly keyOrCertificatePem: string;
  readonly signature: Uint8Array;
  readonly payload: Uint8Array;
  /** Unix seconds; now by default. */
  readonly integratedTime?: number;
  /** Replaces parts of the hashedrekord entry before it is logged. */
  readonly entry?: (entry: Record<string, unknown>) => Record<string, unknown>;
}

/** A cosign `dev.sigstore.cosign/bundle`: Payload keys deliberately unsorted, SET over its canonical form. */
export function makeSet(rekor: TestRekor, logged: SetEntry): string {
  const hashedRekord: Record<string, unknown> = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      signature: {
        content: Buffer.from(logged.signature).toString('base64'),
        publicKey: { content: Buffer.from(logged.keyOrCertificatePem).toString('base64') },
      },
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(logged.payload).digest('hex') } },
    },
  };
  const entry = logged.entry ? logged.entry(hashedRekord) : hashedRekord;
  return makeSetOverEntryText(rekor, JSON.stringify(entry), logged.integratedTime);
}

/** A bundle whose SET `rekor` made over a log entry written as `entryText`, whatever that holds. */
export function makeSetOverEntryText(rekor: TestRekor, entryText: string, integratedTime = Math.floor(Date.now() / 1000)): string {
  const payload = {
    logID: 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
    logIndex: 1234,
    integratedTime,
    body: Buffer.from(entryText).toString('base64'),
  };
  const canonical = `{"body":${JSON.stringify(payload.body)},"integratedTime":${payload.integratedTime},"logID":${JSON.stringify(payload.logID)},"logIndex":${payload.logIndex}}`;
  const set = sign('sha256', Buffer.from(canonical), { key: rekor.privateKey, dsaEncoding: 'der' });
  return JSON.stringify({ SignedEntryTimestamp: set.toString('base64'), Payload: payload });
}

/** The annotations cosign writes for a keyless signature of `payload` by `leaf`. */
export function keylessAnnotations(
  rekor: TestRekor,
  leaf: Leaf,
  payload: Uint8Array,
  options: { integratedTime?: number; chainPem?: string } = {},
): Record<string, string> {
  const signature = sign('sha256', payload, { key: leaf.privateKey, dsaEncoding: 'der' });
  const annotations: Record<string, string> = {
    [SIGNATURE_ANNOTATION]: signature.toString('base64'),
    [CERTIFICATE_ANNOTATION]: leaf.certificatePem,
    [BUNDLE_ANNOTATION]: makeSet(rekor, { keyOrCertificatePem: leaf.certificatePem, signature, payload, integratedTime: options.integratedTime }),
  };
  if (options.chainPem !== undefined) annotations[CHAIN_ANNOTATION] = options.chainPem;
  return annotations;
}
