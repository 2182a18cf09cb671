import { randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';

/** One entry of a token's `access` claim, as docker-registry's token auth reads it. */
export interface ResourceAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * Parses a distribution scope `type:name:action[,action]`. The name is everything between
 * the first and the last colon, so the type may not contain one but the name may.
 */
export function parseScope(scope: string): ResourceAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first + 1) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((action) => action !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

export interface JwtSigner {
  /** PEM of the signing certificate (goes into the registry's `rootcertbundle` via its CA). */
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

export interface RegistryClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly access: readonly ResourceAccess[];
  readonly lifetimeSeconds: number;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Signs a bearer token the way docker-registry 2.8 verifies it: RS256 (or ES256 for an EC
 * key) with the signing certificate in the `x5c` header, which the registry chains up to a
 * certificate in its `rootcertbundle`.
 */
export function signRegistryJwt(signer: JwtSigner, claims: RegistryClaims, now = new Date()): string {
  const certificate = new X509Certificate(signer.certificatePem);
  const isEc = signer.privateKey.asymmetricKeyType === 'ec';
  const header = { typ: 'JWT', alg: isEc ? 'ES256' : 'RS256', x5c: [certificate.raw.toString('base64')] };
  const issuedAt = Math.floor(now.getTime() / 1000);
  const payload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.audience,
    exp: issuedAt + claims.lifetimeSeconds,
    nbf: issuedAt,
    iat: issuedAt,
    jti: randomUUID(),
    access: claims.access,
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  // JOSE wants ECDSA signatures as raw r||s, not DER.
  const signature = sign('sha256', Buffer.from(signingInput), isEc ? { key: signer.privateKey, dsaEncoding: 'ieee-p1363' } : signer.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

/** Decodes (without verifying) a JWT's claims: for tests asserting what was granted. */
export function decodeJwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error('not a JWT: no payload segment');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
