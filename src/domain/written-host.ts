/**
 * A registry host means what it says. containers/image hands the host of a reference, a
 * redirect or a token realm to the resolver exactly as written, and registries.conf `blocked`
 * entries and policy.json scopes are matched on that spelling. WHATWG URL (Node's and undici's
 * parser) rewrites some spellings into other names: `2130706433`, `0x7f.1`, `127.1` and
 * `0177.0.0.1` become `127.0.0.1`, `[0:0::1]` becomes `[::1]`, `ex%61mple.com` and `bücher.de`
 * are decoded or converted, `:05000` loses its zeros. Such a URL would reach an address under a
 * name that blocking and policy never saw, so every URL the proxy builds from a host is checked
 * here and refused unless its host is the host as written, ASCII case aside.
 */
import { type ErrorCode, ProxyError } from './errors.js';

/** `scheme://authority` or `//authority` at the start of a URL, as Go's url.Parse reads it. */
const WRITTEN_AUTHORITY = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/([^/?#\\]*)/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'https:': '443', 'http:': '80' };

/** Lower-cases ASCII only: Unicode case mapping (U+212A KELVIN SIGN → `k`) is a rewrite too. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The host of an authority, without userinfo (which may hold a password and never reaches a message). */
function hostOf(authority: string): string {
  return authority.slice(authority.lastIndexOf('@') + 1);
}

function splitHostPort(host: string): { hostname: string; port: string | undefined } {
  const colon = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
  return colon === -1 ? { hostname: host, port: undefined } : { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
}

/** Why WHATWG URL's reading of a hostname differs from the written one, for the message. */
function rewriteKind(written: string, parsed: string): string {
  if (/^[0-9.]+$/.test(parsed))
    return 'a numeric IPv4 shorthand (a decimal, hexadecimal or octal number, or fewer than four parts), which containers/image does not read as an address';
  if (parsed.startsWith('[')) return 'an IPv6 address in a spelling other than its canonical one';
  if (written.includes('%')) return 'percent-encoding, which Node decodes';
  if (/[^\x20-\x7e]/.test(written)) return 'non-ASCII characters, which Node maps to an ASCII name (IDNA)';
  return 'a spelling Node rewrites';
}

/**
 * The reason `url`'s host is not `host` as written, or undefined when it is. An empty port and
 * the scheme's default port are the same port to both parsers.
 */
function rewrite(host: string, url: URL): string | undefined {
  const { hostname, port } = splitHostPort(host);
  if (asciiLower(hostname) !== url.hostname) return `Node would contact ${JSON.stringify(url.hostname)}: ${rewriteKind(hostname, url.hostname)}`;
  if (port === undefined || port === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(port)) return `the port ${JSON.stringify(port)} is not written as a decimal number without leading zeros`;
  if (url.port !== port && !(url.port === '' && DEFAULT_PORTS[url.protocol] === port)) return `Node would contact port ${url.port}`;
  return undefined;
}

function refused(code: ErrorCode, what: string, written: string, reason: string, cause?: unknown): ProxyError {
  return new ProxyError(
    code,
    `${what}: host ${JSON.stringify(written)} is refused, ${reason}; containers/image uses hosts as written, and registries.conf blocks and policy scopes match them as written`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * `scheme://host/` for a registry host as written (`name[:port]`, `[v6][:port]`). `code` is
 * the error the caller reports a refusal with; `what` names the request in it.
 */
export function urlForHost(scheme: 'https' | 'http', host: string, code: ErrorCode, what: string): URL {
  let url: URL;
  try {
    url = new URL(`${scheme}://${host}/`);
  } catch (err) {
    throw refused(code, what, host, 'Node cannot parse it as a host', err);
  }
  const reason = url.host === '' || url.pathname !== '/' || url.username !== '' ? 'it is not a plain host[:port]' : rewrite(host, url);
  if (reason !== undefined) throw refused(code, what, host, reason);
  return url;
}

/**
 * Parses a URL that came from outside (a redirect, a token realm, a foreign layer, a lookaside
 * base), relative to `base` when given. A URL that names a host must name it as written; one
 * that does not (a path) must keep `base`'s host, which was checked when it was built.
 */
export function parseUrlAsWritten(text: string, base: URL | undefined, code: ErrorCode, what: string): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch (err) {
    // The text is not quoted: a location or realm may carry signed query parameters.
    throw new ProxyError(code, `${what}: not a valid URL`, { cause: err });
  }
  const authority = WRITTEN_AUTHORITY.exec(text)?.[1];
  if (authority === undefined) {
    if (base !== undefined && url.host === base.host) return url;
    throw refused(code, what, url.host, 'Node reads it from a URL that does not write a host after "//"');
  }
  const host = hostOf(authority);
  const reason = rewrite(host, url);
  if (reason !== undefined) throw refused(code, what, host, reason);
  return url;
}
