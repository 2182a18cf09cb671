import { type Log } from '../../ports/log.js';
import { discard } from './bodies.js';
import { type HttpRequest, type Send } from './http.js';
import { loggableUrl } from './loggable-url.js';
import { type RetryPolicy, retryDelay, sleep } from './retry-after.js';
import { isTransientFailure } from './transport-errors.js';

/**
 * Answers worth asking again: 429, and the 5xx statuses that mean "not now" (containers/common
 * retries 502–504; a 500 from a registry behind a load balancer is as often passing). 501 and
 * 505 say the server never will, so they are not retried; nor is any other 4xx.
 */
function isTransientStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Sends again, after a backoff, what failed for a passing reason: connection refused or reset, a
 * connect or response-headers timeout, a transient status. Every request the registry client
 * makes is idempotent (GET and HEAD, and the token POST, which only mints a token), so each may
 * be repeated. After the last retry the last answer is returned, or the last error thrown, for
 * the caller to report. A body already streaming is not this layer's: it resumes with Range.
 */
export function retryTransient(next: Send, policy: RetryPolicy, log: Log, now: () => number = Date.now): Send {
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt > policy.maxRetries;
      // `reason` is what failed; `said` opens the log line and names the request once: the
      // transport's errors already name it (`transportError`), a status does not.
      let reason: string;
      let said: string;
      let retryAfter: string | string[] | undefined;
      try {
        const response = await next({ ...request, attempt });
        if (last || !isTransientStatus(response.statusCode)) return response;
        reason = `HTTP ${response.statusCode}`;
        said = `${request.what}: ${reason}`;
        retryAfter = response.headers['retry-after'];
        await discard(response.body);
      } catch (err) {
        if (last || request.signal?.aborted || !isTransientFailure(err)) throw err;
        reason = err instanceof Error ? err.message : String(err);
        said = reason;
      }
      const delayMs = retryDelay(policy, attempt, retryAfter, now());
      logRetry(log, request, { attempt, reason, said, delayMs, maxRetries: policy.maxRetries, retryAfter });
      await sleep(delayMs, request.signal);
    }
  };
}

interface RetryFacts {
  readonly attempt: number;
  readonly reason: string;
  readonly said: string;
  readonly delayMs: number;
  readonly maxRetries: number;
  readonly retryAfter: string | string[] | undefined;
}

function logRetry(log: Log, request: HttpRequest, facts: RetryFacts): void {
  const retryAfter = Array.isArray(facts.retryAfter) ? facts.retryAfter[0] : facts.retryAfter;
  log.record('warn', 'retry', `${facts.said}; retry ${facts.attempt} of ${facts.maxRetries} in ${facts.delayMs} ms`, {
    method: request.method,
    url: loggableUrl(request.url),
    attempt: facts.attempt,
    reason: facts.reason,
    delayMs: facts.delayMs,
    retryAfter,
  });
}
