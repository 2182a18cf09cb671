/**
 * Several stores asked in order; the first that answers (anything but `undefined`) wins.
 *
 * Errors, by default, follow c/image's credential-helper chain: a failing store does not stop the
 * search, but if no store answers, the failure is reported rather than silently going anonymous.
 * `stopAtFirstError` gives the stricter walk c/image uses over the auth files, where a broken
 * file ends the search at once.
 */
import { ProxyError, toProxyError } from '../../domain/errors.js';
import { type CredentialStore, type CredentialTarget, type Credentials } from '../../ports/credential-store.js';

export interface ChainOptions {
  readonly stopAtFirstError?: boolean | undefined;
}

export class ChainCredentialStore implements CredentialStore {
  constructor(
    private readonly stores: readonly CredentialStore[],
    private readonly options: ChainOptions = {},
  ) {}

  async lookup(target: CredentialTarget, signal?: AbortSignal): Promise<Credentials | undefined> {
    const failures: ProxyError[] = [];
    for (const store of this.stores) {
      signal?.throwIfAborted();
      try {
        const found = await store.lookup(target, signal);
        if (found !== undefined) return found;
      } catch (err) {
        if (signal?.aborted === true || this.options.stopAtFirstError === true) throw err;
        failures.push(toProxyError(err, 'credential-helper'));
      }
    }
    const [first] = failures;
    if (first === undefined) return undefined;
    if (failures.length === 1) throw first;
    throw new ProxyError(first.code, `no credentials found for ${target.registry}; ${failures.map((failure) => failure.message).join('; ')}`, {
      cause: new AggregateError(failures),
    });
  }
}
