import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../lib/errors.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('CircuitBreaker', () => {
  it("uses Envoy's defaults", () => {
    const cb = new CircuitBreaker();
    assert.equal(cb.remaining('connections'), 1024);
    assert.equal(cb.remaining('pendingRequests'), 1024);
    assert.equal(cb.remaining('requests'), 1024);
    assert.equal(cb.remaining('retries'), 3);
  });
  it('admits up to the limit, then overflows with Envoy counters until a release', () => {
    const cb = new CircuitBreaker({ maxRequests: 2, maxConnections: 1, maxPendingRequests: 0, maxRetries: 1 });
    assert.equal(cb.tryAcquire('requests'), true);
    assert.equal(cb.tryAcquire('requests'), true);
    assert.equal(cb.tryAcquire('requests'), false);
    assert.equal(cb.remaining('requests'), 0);
    assert.equal(cb.stats()['circuit_breakers.default.rq_open'], 1);
    cb.release('requests');
    assert.equal(cb.tryAcquire('requests'), true);
    assert.equal(cb.tryAcquire('connections'), true);
    assert.equal(cb.tryAcquire('connections'), false);
    assert.equal(cb.tryAcquire('pendingRequests'), false);
    assert.equal(cb.tryAcquire('retries'), true);
    assert.equal(cb.tryAcquire('retries'), false);
    const s = cb.stats();
    assert.equal(s.upstream_cx_overflow, 1);
    assert.equal(s.upstream_rq_pending_overflow, 2); // one request overflow + one pending overflow, as Envoy counts
    assert.equal(s.upstream_rq_retry_overflow, 1);
    assert.equal(s['circuit_breakers.default.remaining_cx'], 0);
  });
  it('rejects unmatched releases and bad limits', () => {
    const cb = new CircuitBreaker();
    assert.throws(() => cb.release('connections'), (e) => isSluiceError(e, 'SLUICE_E_CIRCUIT_BREAKER_RELEASE'));
    assert.throws(() => new CircuitBreaker({ maxRequests: -1 }, 'cluster "a"'), (e) => isSluiceError(e, 'SLUICE_E_CIRCUIT_BREAKER_CONFIG') && /cluster "a": maxRequests/.test(e.message));
  });
});
