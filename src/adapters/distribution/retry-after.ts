import { abortReason } from './transport-errors.js';

/**
 * How transient failures are retried (`--retry-times`, `--retry-delay`): containers/common's
 * retry package waits 1 s, 2 s, 4 s …; a registry's `Retry-After` is honoured instead, capped.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 sends every request once. */
  readonly maxRetries: number;
  /** Wait before the first retry when the registry sends no usable `Retry-After`; doubled for each next one. */
  readonly initialDelayMs: number;
  /** No wait is ever longer than this, whatever `Retry-After` asks. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, initialDelayMs: 1000, maxDelayMs: 60_000 };

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

/** The wait before retry number `retry` (counted from 1). */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfter: string | string[] | undefined, now: number): number {
  const fallback = policy.initialDelayMs * 2 ** (retry - 1);
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
