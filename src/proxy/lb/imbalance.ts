/**
 * Load imbalance of a run: how far each host's request count strays from its weighted ideal
 * share (ideal_i = total × w_i / Σw). Benchmarks report `maxDeviation` (the most over-loaded
 * host, e.g. 0.12 = 12 % above its share) and `maxOverMin` (the ratio between the busiest and
 * the idlest host per unit of weight; 1 = perfectly even).
 */
import { SluiceError } from '../../lib/errors.ts';

export interface ImbalanceReport {
  total: number;
  /** Largest (count − ideal) / ideal over hosts; ≥ 0 whenever total > 0. */
  maxDeviation: number;
  /** Smallest (count − ideal) / ideal over hosts; ≤ 0. */
  minDeviation: number;
  /** max(count/weight) / min(count/weight); Infinity when a host got nothing while another got some. */
  maxOverMin: number;
  perHost: { id: string; count: number; ideal: number; deviation: number }[];
}

export function imbalance(counts: ReadonlyMap<string, number> | Record<string, number>, weights?: ReadonlyMap<string, number> | Record<string, number>): ImbalanceReport {
  const c = counts instanceof Map ? counts : new Map(Object.entries(counts));
  const w = weights === undefined ? undefined : weights instanceof Map ? weights : new Map(Object.entries(weights));
  if (c.size === 0) throw new SluiceError('SLUICE_E_LB_IMBALANCE_INPUT', 'imbalance: no hosts given');
  let total = 0, weightSum = 0;
  for (const [id, n] of c) {
    if (!(n >= 0) || !Number.isFinite(n)) throw new SluiceError('SLUICE_E_LB_IMBALANCE_INPUT', `imbalance: count of host "${id}" must be a number ≥ 0, got ${n}`);
    const wt = w?.get(id) ?? 1;
    if (!(wt > 0) || !Number.isFinite(wt)) throw new SluiceError('SLUICE_E_LB_IMBALANCE_INPUT', `imbalance: weight of host "${id}" must be a positive number, got ${wt}`);
    total += n;
    weightSum += wt;
  }
  const perHost: ImbalanceReport['perHost'] = [];
  let maxDev = -Infinity, minDev = Infinity, maxPer = -Infinity, minPer = Infinity;
  for (const [id, n] of c) {
    const wt = w?.get(id) ?? 1;
    const ideal = (total * wt) / weightSum;
    const deviation = ideal === 0 ? 0 : (n - ideal) / ideal;
    perHost.push({ id, count: n, ideal, deviation });
    maxDev = Math.max(maxDev, deviation);
    minDev = Math.min(minDev, deviation);
    maxPer = Math.max(maxPer, n / wt);
    minPer = Math.min(minPer, n / wt);
  }
  const maxOverMin = maxPer === 0 ? 1 : minPer === 0 ? Infinity : maxPer / minPer;
  return { total, maxDeviation: maxDev, minDeviation: minDev, maxOverMin, perHost };
}
