/**
 * Go-style durations (`1.5s`, `100ms`, `1m30s`, `1h`), the form Knative annotations and Istio's
 * CRDs accept (Istio's CEL rules use the same grammar). Written by hand because the grammar is
 * a dozen lines and the result must match Go's time.ParseDuration, not a humanized parser's.
 */
const unitMs: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};
const partRe = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a duration into milliseconds; undefined when the text is not a valid duration. */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  let s = text;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') { sign = s[0] === '-' ? -1 : 1; s = s.slice(1); }
  if (s === '0') return 0;
  if (s.length === 0) return undefined;
  partRe.lastIndex = 0;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    partRe.lastIndex = pos;
    const m = partRe.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unitMs[m[2]!]!;
    pos = partRe.lastIndex;
  }
  return sign * total;
}

