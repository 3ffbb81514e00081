import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../lib/errors.ts';
import { seededRng } from '../../lib/rng.ts';
import { RetryBudget } from './retry-budget.ts';
import { isRetriable, retryBackoffMs, shouldRetry, validateRetryPolicy } from './retry-policy.ts';

describe('RetryBudget', () => {
  it('allows max(min concurrency, 20 % of active + pending) retries at once', () => {
    const b = new RetryBudget();
    assert.equal(b.maxActiveRetries(0), 3);
    assert.equal(b.maxActiveRetries(10), 3);
    assert.equal(b.maxActiveRetries(19), 3);
    assert.equal(b.maxActiveRetries(20), 4);
    assert.equal(b.maxActiveRetries(100), 20);
    assert.equal(b.maxActiveRetries(90, 10), 20);
    assert.equal(b.canRetry(100, 19), true);
    assert.equal(b.canRetry(100, 20), false);
    assert.equal(b.canRetry(0, 2), true);
    assert.equal(b.canRetry(0, 3), false);
  });
  it('takes custom percent and minimum, and rejects bad values', () => {
    const b = new RetryBudget({ budgetPercent: 50, minRetryConcurrency: 0 });
    assert.equal(b.canRetry(0, 0), false);
    assert.equal(b.maxActiveRetries(7), 3);
    assert.throws(() => new RetryBudget({ budgetPercent: 120 }), (e) => isSluiceError(e, 'SLUICE_E_RETRY_BUDGET_CONFIG') && /budgetPercent/.test(e.message));
    assert.throws(() => new RetryBudget({ minRetryConcurrency: -1 }), (e) => isSluiceError(e, 'SLUICE_E_RETRY_BUDGET_CONFIG'));
  });
});

describe('retry policy', () => {
  const p = (retryOn: string[], extra = {}) => ({ retryOn, numRetries: 2, ...extra });
  const table: [string[], object, boolean][] = [
    [['5xx'], { status: 500 }, true],
    [['5xx'], { status: 503 }, true],
    [['5xx'], { status: 404 }, false],
    [['5xx'], { connectFailure: true }, true],
    [['5xx'], { reset: true }, true],
    [['5xx'], { perTryTimeout: true }, true],
    [['5xx'], { status: 503, overloaded: true }, false],
    [['gateway-error'], { status: 500 }, false],
    [['gateway-error'], { status: 502 }, true],
    [['gateway-error'], { status: 504 }, true],
    [['gateway-error'], { reset: true }, true],
    [['reset'], { reset: true }, true],
    [['reset'], { status: 503 }, false],
    [['connect-failure'], { connectFailure: true }, true],
    [['connect-failure'], { reset: true }, false],
    [['connect-failure'], { status: 503 }, false],
    [['refused-stream'], { refusedStream: true }, true],
    [['refused-stream'], { reset: true }, false],
    [['retriable-4xx'], { status: 409 }, true],
    [['retriable-4xx'], { status: 429 }, false],
    [['retriable-status-codes'], { status: 429 }, true],
    [['retriable-status-codes'], { status: 418 }, false],
    [[], { status: 503 }, false],
  ];
  for (const [on, outcome, want] of table) {
    it(`retry_on ${on.join(',') || '(none)'} with ${JSON.stringify(outcome)} → ${want}`, () => {
      assert.equal(isRetriable(p(on, { retriableStatusCodes: [429] }), outcome), want);
    });
  }
  it('stops after num_retries retries', () => {
    const pol = p(['5xx']);
    assert.deepEqual([1, 2, 3].map((a) => shouldRetry(pol, a, { status: 500 })), [true, true, false]);
    assert.equal(shouldRetry({ retryOn: ['5xx'], numRetries: 0 }, 1, { status: 500 }), false);
  });
  it('validates retry_on names and counts', () => {
    assert.throws(() => validateRetryPolicy({ retryOn: ['5xx', 'bogus'], numRetries: 1 }, 'route r1'), (e) => isSluiceError(e, 'SLUICE_E_RETRY_POLICY') && /route r1.*"bogus"/.test(e.message));
    assert.throws(() => validateRetryPolicy({ retryOn: [], numRetries: -1 }), (e) => isSluiceError(e, 'SLUICE_E_RETRY_POLICY'));
    assert.throws(() => validateRetryPolicy({ retryOn: [], numRetries: 1, retriableStatusCodes: [700] }), (e) => isSluiceError(e, 'SLUICE_E_RETRY_POLICY'));
    assert.doesNotThrow(() => validateRetryPolicy({ retryOn: ['gateway-error'], numRetries: 3 }));
  });
  it('backs off with full jitter below min(max, (2^n − 1) × base)', () => {
    const rng = seededRng(3);
    for (let n = 1; n <= 6; n++) {
      const ceiling = Math.min(250, (2 ** n - 1) * 25);
      const xs = Array.from({ length: 200 }, () => retryBackoffMs(n, 25, 250, rng));
      assert.ok(xs.every((x) => x >= 0 && x < ceiling), `attempt ${n}`);
      assert.ok(Math.max(...xs) > ceiling * 0.9, `attempt ${n} uses its range`);
    }
    assert.equal(retryBackoffMs(1, 25, 250, { next: () => 0.999 }), 24);
    assert.throws(() => retryBackoffMs(1, 0), (e) => isSluiceError(e, 'SLUICE_E_RETRY_POLICY'));
  });
});
