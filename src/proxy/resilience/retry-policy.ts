/**
 * Whether to retry a finished attempt, with Envoy's retry_on semantics, and the jittered
 * backoff between attempts. Pure: the router supplies the outcome and the attempt number.
 *
 * retry_on values (Envoy's x-envoy-retry-on):
 * - `5xx`: any 5xx response, a connect failure, a reset, or a per-try timeout
 * - `gateway-error`: 502, 503, 504, a per-try timeout, a reset or a connect failure
 * - `reset`: no response at all (reset, disconnect, per-try timeout)
 * - `connect-failure`: the connection could not be made
 * - `retriable-4xx`: 409
 * - `refused-stream`: the upstream refused the HTTP/2 stream (REFUSED_STREAM)
 * - `retriable-status-codes`: a status listed in retriableStatusCodes
 * A response sluice itself overloaded (circuit breaker, `x-envoy-overloaded`) is never retried.
 */
import { SluiceError } from '../../lib/errors.ts';
import type { Rng } from '../../lib/rng.ts';
import { mathRng } from '../../lib/rng.ts';

export const RETRY_ON_VALUES = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes'] as const;
export type RetryOn = (typeof RETRY_ON_VALUES)[number];

export interface RetryPolicy { retryOn: string[]; numRetries: number; retriableStatusCodes?: number[] }
export interface AttemptOutcome {
  status?: number;
  connectFailure?: boolean;
  reset?: boolean;
  refusedStream?: boolean;
  /** The per-try timeout fired (the route's overall timeout is never retried). */
  perTryTimeout?: boolean;
  /** The failure came from a local circuit breaker; never retried. */
  overloaded?: boolean;
}

/** Checks a policy's values; throws naming the bad entry. */
export function validateRetryPolicy(p: RetryPolicy, where = 'retry policy'): RetryPolicy {
  for (const v of p.retryOn) {
    if (!(RETRY_ON_VALUES as readonly string[]).includes(v)) {
      throw new SluiceError('SLUICE_E_RETRY_POLICY', `${where}: unknown retry_on value "${v}"; supported: ${RETRY_ON_VALUES.join(', ')}`);
    }
  }
  if (!Number.isInteger(p.numRetries) || p.numRetries < 0) {
    throw new SluiceError('SLUICE_E_RETRY_POLICY', `${where}: num_retries must be an integer ≥ 0, got ${p.numRetries}`);
  }
  for (const c of p.retriableStatusCodes ?? []) {
    if (!Number.isInteger(c) || c < 100 || c > 599) throw new SluiceError('SLUICE_E_RETRY_POLICY', `${where}: retriable status code ${c} is not an HTTP status`);
  }
  return p;
}

/** Does `outcome` match the policy's retry_on conditions (ignoring the attempt count)? */
export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  if (outcome.overloaded) return false;
  const on = new Set(policy.retryOn);
  const noResponse = outcome.reset || outcome.connectFailure || outcome.refusedStream || outcome.perTryTimeout;
  if (noResponse) {
    if (on.has('5xx') || on.has('gateway-error') || on.has('reset')) return true;
    if (outcome.connectFailure && on.has('connect-failure')) return true;
    if (outcome.refusedStream && on.has('refused-stream')) return true;
    return false;
  }
  const s = outcome.status;
  if (s === undefined) return false;
  if (on.has('5xx') && s >= 500 && s <= 599) return true;
  if (on.has('gateway-error') && (s === 502 || s === 503 || s === 504)) return true;
  if (on.has('retriable-4xx') && s === 409) return true;
  if (on.has('retriable-status-codes') && (policy.retriableStatusCodes ?? []).includes(s)) return true;
  return false;
}

/**
 * Retry after attempt number `attempt` (1 = the original request) ended with `outcome`?
 * True when the outcome matches retry_on and fewer than `numRetries` retries were made so far
 * (so with numRetries 2 there are at most 3 attempts). Budget and circuit breakers are checked
 * separately by the caller.
 */
export function shouldRetry(policy: RetryPolicy, attempt: number, outcome: AttemptOutcome): boolean {
  return attempt >= 1 && attempt <= policy.numRetries && isRetriable(policy, outcome);
}

/**
 * Envoy's fully jittered exponential backoff before retry number `attempt` (1 = first retry):
 * a random delay in [0, min(max, (2^attempt − 1) × base)). Defaults: base 25 ms, max 10 × base.
 */
export function retryBackoffMs(attempt: number, baseMs = 25, maxMs = 10 * baseMs, rng: Rng = mathRng): number {
  if (!(baseMs > 0) || !(maxMs >= baseMs)) {
    throw new SluiceError('SLUICE_E_RETRY_POLICY', `retry backoff: need 0 < base_interval ≤ max_interval, got base ${baseMs} ms, max ${maxMs} ms`);
  }
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(maxMs, (2 ** Math.min(n, 30) - 1) * baseMs);
  return Math.floor(rng.next() * ceiling);
}
