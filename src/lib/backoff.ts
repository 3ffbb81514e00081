import type { Rng } from './rng.ts';
import { mathRng } from './rng.ts';

/** Exponential backoff with full jitter bounds: attempt 0 → base, doubling up to max. */
export interface BackoffOptions { baseMs: number; maxMs: number; jitter?: number; rng?: Rng }
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt));
  const j = o.jitter ?? 0;
  if (j <= 0) return raw;
  const r = (o.rng ?? mathRng).next();
  return Math.max(0, Math.round(raw * (1 - j + 2 * j * r)));
}
