/**
 * Per-cluster circuit breakers, as Envoy's thresholds: limits on open connections, pending
 * requests (waiting for a connection), active requests and active retries. `tryAcquire` takes
 * a slot or counts an overflow (the router then answers 503 with `x-envoy-overloaded: true`,
 * response flag UO); every successful acquire must be matched by one `release`.
 */
import { SluiceError } from '../../lib/errors.ts';

export type BreakerKind = 'connections' | 'pendingRequests' | 'requests' | 'retries';
export const BREAKER_KINDS: readonly BreakerKind[] = ['connections', 'pendingRequests', 'requests', 'retries'];
export interface CircuitBreakerThresholds { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number }
export const DEFAULT_THRESHOLDS: Readonly<CircuitBreakerThresholds> = Object.freeze({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });

/** Envoy's counter for each breaker (Envoy counts request overflow in upstream_rq_pending_overflow too). */
export const OVERFLOW_STAT: Readonly<Record<BreakerKind, string>> = Object.freeze({
  connections: 'upstream_cx_overflow',
  pendingRequests: 'upstream_rq_pending_overflow',
  requests: 'upstream_rq_pending_overflow',
  retries: 'upstream_rq_retry_overflow',
});
/** Envoy's circuit_breakers.default.* gauges: 1 while the breaker is at its limit. */
const OPEN_GAUGE: Readonly<Record<BreakerKind, string>> = Object.freeze({ connections: 'cx_open', pendingRequests: 'rq_pending_open', requests: 'rq_open', retries: 'rq_retry_open' });
const REMAINING_GAUGE: Readonly<Record<BreakerKind, string>> = Object.freeze({ connections: 'remaining_cx', pendingRequests: 'remaining_pending', requests: 'remaining_rq', retries: 'remaining_retries' });
const LIMIT_FIELD: Readonly<Record<BreakerKind, keyof CircuitBreakerThresholds>> = Object.freeze({ connections: 'maxConnections', pendingRequests: 'maxPendingRequests', requests: 'maxRequests', retries: 'maxRetries' });

export class CircuitBreaker {
  readonly thresholds: Readonly<CircuitBreakerThresholds>;
  private readonly active: Record<BreakerKind, number> = { connections: 0, pendingRequests: 0, requests: 0, retries: 0 };
  private readonly overflows = new Map<string, number>(Object.values(OVERFLOW_STAT).map((n) => [n, 0]));

  constructor(thresholds: Partial<CircuitBreakerThresholds> = {}, where = 'circuit breaker') {
    const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
    for (const k of BREAKER_KINDS) {
      const v = t[LIMIT_FIELD[k]];
      if (!Number.isInteger(v) || v < 0) throw new SluiceError('SLUICE_E_CIRCUIT_BREAKER_CONFIG', `${where}: ${LIMIT_FIELD[k]} must be an integer ≥ 0, got ${v}`);
    }
    this.thresholds = Object.freeze(t);
  }

  limit(kind: BreakerKind): number { return this.thresholds[LIMIT_FIELD[kind]]; }
  inUse(kind: BreakerKind): number { return this.active[kind]; }
  remaining(kind: BreakerKind): number { return Math.max(0, this.limit(kind) - this.active[kind]); }

  /** Takes one slot if the limit allows; otherwise counts an overflow and returns false. */
  tryAcquire(kind: BreakerKind): boolean {
    if (this.active[kind] >= this.limit(kind)) {
      const stat = OVERFLOW_STAT[kind];
      this.overflows.set(stat, (this.overflows.get(stat) ?? 0) + 1);
      return false;
    }
    this.active[kind]++;
    return true;
  }

  release(kind: BreakerKind): void {
    if (this.active[kind] === 0) throw new SluiceError('SLUICE_E_CIRCUIT_BREAKER_RELEASE', `circuit breaker: release of ${kind} without a matching acquire`);
    this.active[kind]--;
  }

  overflowCount(stat: string): number { return this.overflows.get(stat) ?? 0; }

  /** Counters and gauges under Envoy's names, for /stats (prefix them with `cluster.<name>.`). */
  stats(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.overflows);
    for (const k of BREAKER_KINDS) {
      out[`circuit_breakers.default.${OPEN_GAUGE[k]}`] = this.active[k] >= this.limit(k) ? 1 : 0;
      out[`circuit_breakers.default.${REMAINING_GAUGE[k]}`] = this.remaining(k);
    }
    return out;
  }
}
