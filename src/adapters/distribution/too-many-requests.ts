import { discard } from './bodies.js';
import { type Send } from './http.js';
import { type RetryPolicy, retryDelay, sleep } from './retry-after.js';

/**
 * Retries 429 answers, waiting as `Retry-After` asks (capped) or with doubling delays. After the
 * last attempt the 429 itself is returned, for the caller to report. Nothing else is retried.
 */
export function retryTooManyRequests(next: Send, policy: RetryPolicy, now: () => number = Date.now): Send {
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const response = await next(request);
      if (response.statusCode !== 429 || attempt >= policy.maxAttempts) return response;
      const delay = retryDelay(policy, attempt, response.headers['retry-after'], now());
      await discard(response.body);
      await sleep(delay, request.signal);
    }
  };
}
