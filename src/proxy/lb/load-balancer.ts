/**
 * The load-balancing contract of the data plane. A LoadBalancer is an immutable snapshot built
 * from the cluster's host set; the cluster rebuilds it whenever hosts, weights or health change.
 * Its internal scheduler state (round-robin position, EDF deadlines) advances with each pick,
 * but the host set it chooses from never changes after `build`.
 */
import type { Rng } from '../../lib/rng.ts';

export interface Locality { region?: string; zone?: string; subZone?: string }
export interface Host {
  readonly id: string; // "address:port"
  readonly address: string;
  readonly port: number;
  readonly weight: number; // ≥1 (EDS load_balancing_weight)
  readonly locality?: Locality;
  readonly priority?: number;
  healthy: boolean; // false when ejected by outlier detection or EDS health status
  activeRequests: number; // live counter, updated by the proxy while requests run
}
export type PickResult =
  | { kind: 'complete'; host: Host }
  | { kind: 'queue'; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'drop'; reason: string };
export interface PickContext {
  hashKey?: string;
  excludeHosts?: ReadonlySet<string>; // previous-host retry predicate
}
export interface LoadBalancer { pick(ctx?: PickContext): PickResult }
export interface LbOptions {
  choiceCount?: number; // LEAST_REQUEST, default 2
  /** LEAST_REQUEST with unequal weights: effective weight = weight / (active + 1) ^ bias; default 1 (Envoy). */
  activeRequestBias?: number;
  ringSize?: { min: number; max: number }; // RING_HASH, default { min: 1024, max: 8388608 } (Envoy)
  localityWeights?: Map<string, number>; // key: localityKey(); missing key → locality gets no traffic
  localZone?: string;
  overprovisioningFactor?: number; // percent, default 140 (Envoy)
}
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'LOCALITY_WEIGHTED';
export interface LoadBalancerFactory {
  readonly policy: LbPolicy;
  build(hosts: readonly Host[], opts: LbOptions, rng: Rng): LoadBalancer;
}

export const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
export const FAIL_NO_HEALTHY: PickResult = Object.freeze({ kind: 'fail', reason: NO_HEALTHY_UPSTREAM });

/** "region/zone/subZone" with empty parts kept, so distinct localities never collide. */
export function localityKey(l: Locality | undefined): string {
  return `${l?.region ?? ''}/${l?.zone ?? ''}/${l?.subZone ?? ''}`;
}

/**
 * The hosts a snapshot chooses from: healthy hosts at the best (lowest) priority level that has
 * any healthy host, like Envoy without priority spill-over. Order is preserved.
 */
export function eligibleHosts(hosts: readonly Host[]): Host[] {
  let best = Infinity;
  for (const h of hosts) if (h.healthy && (h.priority ?? 0) < best) best = h.priority ?? 0;
  return hosts.filter((h) => h.healthy && (h.priority ?? 0) === best);
}

export function usable(h: Host, exclude: ReadonlySet<string> | undefined): boolean {
  return h.healthy && !(exclude?.has(h.id) ?? false);
}

export function allWeightsEqual(hosts: readonly Host[]): boolean {
  for (const h of hosts) if (h.weight !== hosts[0]!.weight) return false;
  return true;
}

/**
 * Runs `next()` up to `attempts` times until it yields a host that is healthy and not excluded;
 * if none did, scans `all` in order for one. When every healthy host is excluded (a retry with
 * one host left), the first healthy one is returned: an excluded host is used only when it is
 * the only choice.
 */
export function pickAvoiding(attempts: number, exclude: ReadonlySet<string> | undefined, next: () => Host | undefined, all: readonly Host[]): PickResult {
  let fallback: Host | undefined;
  for (let i = 0; i < attempts; i++) {
    const h = next();
    if (!h) break;
    if (!h.healthy) continue;
    if (exclude?.has(h.id)) { fallback ??= h; continue; }
    return { kind: 'complete', host: h };
  }
  for (const h of all) {
    if (!h.healthy) continue;
    if (exclude?.has(h.id)) { fallback ??= h; continue; }
    return { kind: 'complete', host: h };
  }
  return fallback ? { kind: 'complete', host: fallback } : FAIL_NO_HEALTHY;
}
