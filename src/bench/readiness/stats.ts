/** Summary statistics over a sample of durations (nearest-rank percentiles, as Kperf reports). */
export interface Summary { count: number; min: number; mean: number; p50: number; p90: number; p95: number; p99: number; max: number }

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return {
    count: n,
    min: n ? s[0]! : NaN,
    mean: n ? s.reduce((a, b) => a + b, 0) / n : NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: n ? s[n - 1]! : NaN,
  };
}
