/** Query parameters whose values say what was asked and carry no secret. */
const SHOWN_PARAMETERS = new Set(['scope', 'service', 'n', 'last', 'digest']);

/**
 * A registry URL as logs may show it: no user info, and every query value but the few known to
 * be harmless replaced, since a redirect to object storage carries signatures and credentials
 * in its query (`X-Amz-Signature`, `sig`, …) and a token request the account name.
 */
export function loggableUrl(url: URL): string {
  const params = [...url.searchParams.entries()].map(
    ([key, value]) => `${encodeURIComponent(key)}=${SHOWN_PARAMETERS.has(key) ? encodeURIComponent(value) : 'redacted'}`,
  );
  return `${url.protocol}//${url.host}${url.pathname}${params.length === 0 ? '' : `?${params.join('&')}`}`;
}
