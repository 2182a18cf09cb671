import { abortReason } from './transport-errors.js';

/** How 429 answers are retried (containers/image: 5 attempts, 2 s doubling, 60 s cap). */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** Delay before the second attempt when the registry sends no usable `Retry-After`. */
  readonly initialDelayMs: number;
  /** No wait is ever longer than this, whatever `Retry-After` asks. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 2000, maxDelayMs: 60_000 };

/** `Retry-After` as delta-seconds or an HTTP date, in ms from `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day or month; anything else (e.g. "-1") is not one.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter: string | string[] | undefined, now: number): number {
  const fallback = policy.initialDelayMs * 2 ** (attempt - 1);
  return Math.min(parseRetryAfter(retryAfter, now) ?? fallback, policy.maxDelayMs);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
