/**
 * Go duration strings, as Knative's ConfigMaps and annotations use them: "60s", "1m30s",
 * "500ms", "1h", "0s" (units ns, us, µs, ms, s, m, h; decimals allowed: "1.5s"). Written by hand
 * because the format is tiny and the npm parsers (ms, parse-duration) accept other syntaxes
 * ("1 minute", bare numbers) that Knative would reject.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds for a Go duration string, or undefined when it is not one. Negative durations are not accepted. */
export function parseGoDuration(s: string): number | undefined {
  const str = s.trim();
  if (str === '0') return 0;
  if (str === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < str.length) {
    PART.lastIndex = pos;
    const m = PART.exec(str);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return Math.round(total * 1e6) / 1e6;
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
