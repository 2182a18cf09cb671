import { BlockList, isIP } from 'node:net';

export type ListenAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether a TCP listen host is reachable from this machine only: 127.0.0.0/8 and ::1 (in any
 * spelling of the address, IPv4-mapped included), and the name `localhost`. Other names could
 * resolve anywhere, and shorthand like `127.1` is not an address here, so they count as network.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
