/**
 * Outlier detection, as Envoy's (consecutive 5xx and consecutive gateway failures), with the
 * limits sluice's lessons call for: at most `maxEjectionPercent` (default 10) of the cluster
 * ejected, and never the last healthy host.
 *
 * - `onResult` feeds every upstream outcome. A 5xx (or a connect failure, reset or per-try
 *   timeout, which Envoy maps to 503/504 when local-origin errors are not split) bumps the
 *   consecutive-5xx counter; 502/503/504 also bump the consecutive-gateway-failure counter;
 *   any other 5xx resets only the gateway counter; anything below 500 resets both.
 * - Reaching a threshold ejects the host at once (if enforcement, the percentage cap and the
 *   last-host rule allow), for `baseEjectionTime × timesEjected`, capped by
 *   max(maxEjectionTime, baseEjectionTime).
 * - `sweep()` runs every `interval`: it un-ejects hosts whose time is up, and lowers the
 *   times-ejected multiplier of hosts that stayed healthy through an interval.
 *
 * The detector does not touch `host.healthy`: the cluster owns that flag (EDS health and
 * ejection combined) and should set `healthy = edsHealthy && !isEjected(id)` and rebuild its
 * balancer snapshot in `onChange`.
 */
import type { Clock, Timer } from '../../lib/clock.ts';
import { SluiceError } from '../../lib/errors.ts';
import type { Rng } from '../../lib/rng.ts';
import { mathRng } from '../../lib/rng.ts';
import type { Host } from '../lb/load-balancer.ts';

export interface OutlierDetectionConfig {
  consecutive5xx: number; // Envoy default 5
  consecutiveGatewayFailure: number; // Envoy default 5
  /** Percent chance a detected consecutive-5xx outlier is ejected; Envoy default 100. */
  enforcingConsecutive5xx: number;
  /** Percent chance a detected gateway-failure outlier is ejected; Envoy default 0. */
  enforcingConsecutiveGatewayFailure: number;
  intervalMs: number; // Envoy default 10 s
  baseEjectionTimeMs: number; // Envoy default 30 s
  maxEjectionTimeMs: number; // Envoy default 300 s
  maxEjectionPercent: number; // sluice default 10 (Envoy 10)
}
export type OutlierOutcome = { status?: number; connectFailure?: boolean; timeout?: boolean; reset?: boolean };
export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_failure';
export type OutlierEvent =
  | { kind: 'eject'; hostId: string; reason: EjectionReason; timesEjected: number; untilMs: number }
  | { kind: 'uneject'; hostId: string };

/** Envoy's stat names (without the `cluster.<name>.outlier_detection.` prefix). */
export interface OutlierStats {
  ejections_active: number;
  ejections_total: number;
  ejections_overflow: number;
  ejections_enforced_total: number;
  ejections_enforced_consecutive_5xx: number;
  ejections_detected_consecutive_5xx: number;
  ejections_enforced_consecutive_gateway_failure: number;
  ejections_detected_consecutive_gateway_failure: number;
}

export const DEFAULT_OUTLIER_DETECTION: Readonly<OutlierDetectionConfig> = Object.freeze({
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
});

interface HostState {
  host: Host;
  consecutive5xx: number;
  consecutiveGateway: number;
  timesEjected: number;
  ejectedAt?: number;
}

export class OutlierDetector {
  readonly config: Readonly<OutlierDetectionConfig>;
  private readonly hosts = new Map<string, HostState>();
  private readonly listeners: ((e: OutlierEvent) => void)[] = [];
  private timer: Timer | undefined;
  private readonly counters: OutlierStats = {
    ejections_active: 0, ejections_total: 0, ejections_overflow: 0, ejections_enforced_total: 0,
    ejections_enforced_consecutive_5xx: 0, ejections_detected_consecutive_5xx: 0,
    ejections_enforced_consecutive_gateway_failure: 0, ejections_detected_consecutive_gateway_failure: 0,
  };

  constructor(cfg: Partial<OutlierDetectionConfig>, private readonly clock: Clock, private readonly rng: Rng = mathRng) {
    this.config = validateOutlierConfig({ ...DEFAULT_OUTLIER_DETECTION, ...cfg });
  }

  /** Registers a listener called on every ejection and un-ejection. */
  onChange(fn: (e: OutlierEvent) => void): () => void {
    this.listeners.push(fn);
    return () => { const i = this.listeners.indexOf(fn); if (i >= 0) this.listeners.splice(i, 1); };
  }

  /** Replaces the cluster's host set (EDS update). State of hosts that stay is kept. */
  updateHosts(hosts: readonly Host[]): void {
    const keep = new Set(hosts.map((h) => h.id));
    for (const id of [...this.hosts.keys()]) {
      if (keep.has(id)) continue;
      if (this.hosts.get(id)!.ejectedAt !== undefined) this.counters.ejections_active--;
      this.hosts.delete(id);
    }
    for (const h of hosts) {
      const s = this.hosts.get(h.id);
      if (s) s.host = h; else this.hosts.set(h.id, { host: h, consecutive5xx: 0, consecutiveGateway: 0, timesEjected: 0 });
    }
  }

  onResult(host: Host, outcome: OutlierOutcome): void {
    let s = this.hosts.get(host.id);
    if (!s) this.hosts.set(host.id, (s = { host, consecutive5xx: 0, consecutiveGateway: 0, timesEjected: 0 }));
    if (s.ejectedAt !== undefined) return; // results of requests that were in flight when it was ejected
    const status = effectiveStatus(outcome);
    if (status === undefined) return;
    if (status < 500) { s.consecutive5xx = 0; s.consecutiveGateway = 0; return; }
    if (status === 502 || status === 503 || status === 504) {
      s.consecutiveGateway++;
      if (s.consecutiveGateway >= this.config.consecutiveGatewayFailure) {
        s.consecutiveGateway = 0;
        this.counters.ejections_detected_consecutive_gateway_failure++;
        if (this.enforced(this.config.enforcingConsecutiveGatewayFailure)) {
          if (this.eject(s, 'consecutive_gateway_failure')) { s.consecutive5xx = 0; return; }
        }
      }
    } else {
      s.consecutiveGateway = 0;
    }
    s.consecutive5xx++;
    if (s.consecutive5xx >= this.config.consecutive5xx) {
      s.consecutive5xx = 0;
      this.counters.ejections_detected_consecutive_5xx++;
      if (this.enforced(this.config.enforcingConsecutive5xx)) this.eject(s, 'consecutive_5xx');
    }
  }

  isEjected(hostId: string): boolean { return this.hosts.get(hostId)?.ejectedAt !== undefined; }

  /** Times the host has been ejected, as decayed by sweeps (the ejection-time multiplier). */
  timesEjected(hostId: string): number { return this.hosts.get(hostId)?.timesEjected ?? 0; }

  stats(): OutlierStats { return { ...this.counters }; }

  /** The interval work: un-eject hosts whose time is up; decay the multiplier of healthy ones. */
  sweep(): void {
    const now = this.clock.now();
    for (const s of this.hosts.values()) {
      if (s.ejectedAt === undefined) {
        if (s.timesEjected > 0) s.timesEjected--;
        continue;
      }
      if (now >= s.ejectedAt + this.ejectionTime(s.timesEjected)) {
        s.ejectedAt = undefined;
        s.consecutive5xx = 0;
        s.consecutiveGateway = 0;
        this.counters.ejections_active--;
        this.emit({ kind: 'uneject', hostId: s.host.id });
      }
    }
  }

  /** Sweeps every `intervalMs` on the injected clock until `stop()`. */
  start(): void {
    if (this.timer) return;
    const tick = () => { this.timer = this.clock.setTimeout(tick, this.config.intervalMs); this.sweep(); };
    this.timer = this.clock.setTimeout(tick, this.config.intervalMs);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private ejectionTime(timesEjected: number): number {
    const c = this.config;
    return Math.min(c.baseEjectionTimeMs * Math.max(1, timesEjected), Math.max(c.maxEjectionTimeMs, c.baseEjectionTimeMs));
  }

  private enforced(percent: number): boolean {
    return percent >= 100 || (percent > 0 && this.rng.next() * 100 < percent);
  }

  private eject(s: HostState, reason: EjectionReason): boolean {
    let total = 0, ejected = 0, healthy = 0;
    for (const o of this.hosts.values()) {
      total++;
      if (o.ejectedAt !== undefined) ejected++;
      else if (o.host.healthy) healthy++;
    }
    // At least one host may be ejected whatever the percentage (as Envoy); never the last healthy one.
    const withinPercent = ejected === 0 || ((ejected + 1) * 100) / total <= this.config.maxEjectionPercent;
    if (!withinPercent || !s.host.healthy || healthy <= 1) {
      this.counters.ejections_overflow++;
      return false;
    }
    s.timesEjected++;
    s.ejectedAt = this.clock.now();
    this.counters.ejections_active++;
    this.counters.ejections_total++;
    this.counters.ejections_enforced_total++;
    if (reason === 'consecutive_5xx') this.counters.ejections_enforced_consecutive_5xx++;
    else this.counters.ejections_enforced_consecutive_gateway_failure++;
    this.emit({ kind: 'eject', hostId: s.host.id, reason, timesEjected: s.timesEjected, untilMs: s.ejectedAt + this.ejectionTime(s.timesEjected) });
    return true;
  }

  private emit(e: OutlierEvent): void { for (const l of [...this.listeners]) l(e); }
}

/** Connect failures and resets count as 503, per-try timeouts as 504 (Envoy, local-origin errors not split). */
function effectiveStatus(o: OutlierOutcome): number | undefined {
  if (o.connectFailure || o.reset) return 503;
  if (o.timeout) return 504;
  return o.status;
}

export function validateOutlierConfig(c: OutlierDetectionConfig): OutlierDetectionConfig {
  const check = (name: keyof OutlierDetectionConfig, ok: boolean, want: string) => {
    if (!ok) throw new SluiceError('SLUICE_E_OUTLIER_CONFIG', `outlier detection: ${name} must be ${want}, got ${String(c[name])}`);
  };
  check('consecutive5xx', Number.isInteger(c.consecutive5xx) && c.consecutive5xx >= 1, 'an integer ≥ 1');
  check('consecutiveGatewayFailure', Number.isInteger(c.consecutiveGatewayFailure) && c.consecutiveGatewayFailure >= 1, 'an integer ≥ 1');
  check('enforcingConsecutive5xx', c.enforcingConsecutive5xx >= 0 && c.enforcingConsecutive5xx <= 100, 'a percentage 0..100');
  check('enforcingConsecutiveGatewayFailure', c.enforcingConsecutiveGatewayFailure >= 0 && c.enforcingConsecutiveGatewayFailure <= 100, 'a percentage 0..100');
  check('intervalMs', c.intervalMs > 0 && Number.isFinite(c.intervalMs), 'a positive duration in ms');
  check('baseEjectionTimeMs', c.baseEjectionTimeMs > 0 && Number.isFinite(c.baseEjectionTimeMs), 'a positive duration in ms');
  check('maxEjectionTimeMs', c.maxEjectionTimeMs > 0 && Number.isFinite(c.maxEjectionTimeMs), 'a positive duration in ms');
  check('maxEjectionPercent', c.maxEjectionPercent >= 0 && c.maxEjectionPercent <= 100, 'a percentage 0..100');
  return c;
}
