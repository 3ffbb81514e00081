/**
 * Envoy's retry budget (circuit_breakers.thresholds.retry_budget): the number of retries that
 * may be outstanding at once is a share of the requests in flight, so retries cannot multiply
 * an overload. Allowed concurrent retries = max(minRetryConcurrency,
 * floor(budgetPercent / 100 × (activeRequests + pendingRequests))); a new retry may start while
 * fewer than that are active. sluice's default (20 %, minimum 3) is Envoy's.
 */
import { SluiceError } from '../../lib/errors.ts';

export interface RetryBudgetConfig { budgetPercent: number; minRetryConcurrency: number }
export const DEFAULT_RETRY_BUDGET: Readonly<RetryBudgetConfig> = Object.freeze({ budgetPercent: 20, minRetryConcurrency: 3 });

export class RetryBudget {
  readonly config: Readonly<RetryBudgetConfig>;
  constructor(cfg: Partial<RetryBudgetConfig> = {}) {
    const c = { ...DEFAULT_RETRY_BUDGET, ...cfg };
    if (!(c.budgetPercent >= 0 && c.budgetPercent <= 100)) {
      throw new SluiceError('SLUICE_E_RETRY_BUDGET_CONFIG', `retry budget: budgetPercent must be a percentage 0..100, got ${c.budgetPercent}`);
    }
    if (!Number.isInteger(c.minRetryConcurrency) || c.minRetryConcurrency < 0) {
      throw new SluiceError('SLUICE_E_RETRY_BUDGET_CONFIG', `retry budget: minRetryConcurrency must be an integer ≥ 0, got ${c.minRetryConcurrency}`);
    }
    this.config = Object.freeze(c);
  }

  /** How many retries may be active at once with this many requests active and pending. */
  maxActiveRetries(activeRequests: number, pendingRequests = 0): number {
    return Math.max(this.config.minRetryConcurrency, Math.floor((this.config.budgetPercent / 100) * (activeRequests + pendingRequests)));
  }

  /** True when one more retry fits: activeRetries < maxActiveRetries(...). */
  canRetry(activeRequests: number, activeRetries: number, pendingRequests = 0): boolean {
    return activeRetries < this.maxActiveRetries(activeRequests, pendingRequests);
  }
}
