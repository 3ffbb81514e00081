/**
 * Istio value forms → Envoy value forms: durations (`1.5s`, `100ms`, `1m30s`) → milliseconds,
 * Percent (`{ value: 12.5 }`) → FractionalPercent, and Envoy's Duration objects.
 */
import { msDuration } from '../../xds/protos.ts';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;

/**
 * Parses a protobuf-JSON (`1.5s`) or Go-style (`1m30s`, `250ms`) duration into milliseconds.
 * Returns undefined when the text is not a duration (the caller reports the field).
 * Hand-written: the forms are few and a dependency for them is not worth it.
 */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = String(text).trim();
  if (s === '' ) return undefined;
  if (s === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = PART.lastIndex;
  }
  return Math.round(total * 1000) / 1000;
}

export type EnvoyDuration = { seconds: number; nanos: number };
// The same few durations (route timeout 0, idle timeout 30 s, connect timeout 1 s) are in every
// route and cluster: one frozen object per value instead of one per resource.
const durations = new Map<number, EnvoyDuration>();
export function duration(ms: number): EnvoyDuration {
  let d = durations.get(ms);
  if (!d) {
    d = Object.freeze(msDuration(ms));
    if (durations.size < 1024) durations.set(ms, d);
  }
  return d;
}

/** Istio percentage (0–100, fractional) → Envoy FractionalPercent in millionths. */
export function fractionalPercent(percent: number): { numerator: number; denominator: 'MILLION' } {
  const clamped = Math.max(0, Math.min(100, percent));
  return { numerator: Math.round(clamped * 10_000), denominator: 'MILLION' };
}

/** The ADS config source every dynamic reference uses. */
export const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
