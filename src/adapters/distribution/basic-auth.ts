/** `Basic base64(user:pass)`; empty credentials still give `Basic Og==`, as containers/image sends. */
export function basicAuthorization(username: string | undefined, password: string | undefined): string {
  return `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`, 'utf8').toString('base64')}`;
}
