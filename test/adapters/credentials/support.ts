import { expect } from 'chai';
import { type Credentials } from '../../../src/ports/credential-store.js';

/** Awaits a promise that must reject and returns what it rejected with. */
export async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return expect.fail('expected a rejection');
}

/** Everything an error could show: message, stack and the whole cause chain, as text. */
export function everythingShown(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(String(current));
    if (current instanceof Error) {
      parts.push(current.stack ?? '');
      if (current instanceof AggregateError) parts.push(...current.errors.map((inner) => everythingShown(inner)));
      current = current.cause;
    } else {
      current = undefined;
    }
  }
  return parts.join('\n');
}

/** The secrets of an answer without where it came from, for comparing answers of different stores. */
export function withoutSource(found: Credentials | undefined): Omit<Credentials, 'source'> | undefined {
  if (found === undefined) return undefined;
  const { source: _source, ...secrets } = found;
  return secrets;
}
