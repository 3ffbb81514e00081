/**
 * Go duration strings, as Knative's ConfigMaps and annotations use them: "60s", "1m30s",
 * "500ms", "1h", "0s". The grammar lives in one place, src/api/validation/duration.ts; the
 * autoscaler only adds its own rules on top: surrounding space is ignored, signs are refused.
 */
import { parseDuration } from '../api/validation/duration.ts';

/** Milliseconds for a Go duration string, or undefined when it is not one. Negative durations are not accepted. */
export function parseGoDuration(s: string): number | undefined {
  const str = s.trim();
  if (str.startsWith('-') || str.startsWith('+')) return undefined;
  const ms = parseDuration(str);
  return ms === undefined ? undefined : Math.round(ms * 1e6) / 1e6;
}

/** Formats milliseconds as a Go-style duration ("1m30s", "250ms"), for messages and status. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms);
  let out = '';
  const h = Math.floor(rest / 3_600_000); rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000); rest -= m * 60_000;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (rest || !out) out += `${rest / 1000}s`;
  return out;
}
