/**
 * Readiness benchmark report: console table, CSV (one row per service), JSON (everything) and a
 * self-contained HTML page (inline SVG: readiness over creation time, and a CDF per metric).
 */
import fs from 'node:fs';
import path from 'node:path';
import { METRICS, type MetricName, type ServiceDurations } from './durations.ts';
import { summarize, percentile, type Summary } from './stats.ts';

export interface RunInfo {
  scenario?: string;
  target: string; // API server URL
  services: number;
  intervalMs: number;
  batch: number;
  namespaces: number;
  image: string;
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; memoryMb: number; platform: string; node: string };
  /** RSS samples over the run, in MB, by process name ('control', 'gateway', ...). */
  rss?: Record<string, { t: number; mb: number }[]>;
}

export interface Headline {
  services: number;
  ready: number;
  service_ready_p50_ms: number | null;
  service_ready_p99_ms: number | null;
  ingress_minus_revision_p99_ms: number | null;
  growth_ratio: number | null;
  [k: string]: number | string | null;
}

export interface Report {
  run: RunInfo;
  summaries: Partial<Record<MetricName, Summary>>;
  headline: Headline;
  services: ServiceDurations[];
}

const num = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

/** p99 of service_ready over the last `k` services divided by that of the first `k` (creation order). */
export function growthRatio(services: readonly ServiceDurations[], k = 100): number | null {
  const ordered = services.filter((s) => s.durations.service_ready !== undefined).sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  if (ordered.length < 2) return null;
  const n = Math.min(k, Math.floor(ordered.length / 2));
  const p99 = (xs: ServiceDurations[]) => percentile(xs.map((s) => s.durations.service_ready!).sort((a, b) => a - b), 99);
  const first = p99(ordered.slice(0, n));
  const last = p99(ordered.slice(-n));
  // Sub-millisecond firsts would make the ratio meaningless: floor the denominator at 1 ms.
  return num(last / Math.max(1, first));
}

export function buildReport(run: RunInfo, services: ServiceDurations[]): Report {
  const summaries: Partial<Record<MetricName, Summary>> = {};
  for (const m of METRICS) {
    const vals = services.map((s) => s.durations[m]).filter((v): v is number => v !== undefined);
    if (vals.length) summaries[m] = summarize(vals);
  }
  const headline: Headline = {
    services: run.services,
    ready: services.filter((s) => s.ready).length,
    service_ready_p50_ms: summaries.service_ready ? num(summaries.service_ready.p50) : null,
    service_ready_p99_ms: summaries.service_ready ? num(summaries.service_ready.p99) : null,
    ingress_minus_revision_p99_ms: summaries.ingress_after_revision ? num(summaries.ingress_after_revision.p99) : null,
    growth_ratio: growthRatio(services),
  };
  if (run.rss) for (const [name, samples] of Object.entries(run.rss)) headline[`${name}_rss_max_mb`] = samples.length ? num(Math.max(...samples.map((s) => s.mb))) : null;
  return { run, summaries, headline, services };
}

export function consoleTable(r: Report): string {
  const cols = ['metric', 'count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'];
  const rows: string[][] = [];
  for (const m of METRICS) {
    const s = r.summaries[m];
    if (!s) continue;
    rows.push([m, String(s.count), ...[s.min, s.mean, s.p50, s.p90, s.p95, s.p99, s.max].map((v) => v.toFixed(0))]);
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [`durations in ms — ${r.headline.ready}/${r.run.services} services ready`, line(cols), ...rows.map(line)].join('\n');
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
export function toCsv(r: Report): string {
  const head = ['namespace', 'name', 'created_at', 'ready', ...METRICS];
  const lines = [head.join(',')];
  for (const s of r.services) {
    lines.push([s.namespace, s.name, s.createdAt !== undefined ? new Date(s.createdAt).toISOString() : '', s.ready, ...METRICS.map((m) => s.durations[m])].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79'];

function svgPlot(title: string, series: { name: string; points: [number, number][] }[], xLabel: string, yLabel: string, mode: 'dots' | 'line'): string {
  const W = 720, H = 320, L = 60, R = 160, T = 30, B = 40;
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<p>${esc(title)}: no data</p>`;
  const xmax = Math.max(...all.map((p) => p[0]), 1e-9), ymax = Math.max(...all.map((p) => p[1]), 1e-9);
  const X = (x: number) => L + (x / xmax) * (W - L - R), Y = (y: number) => H - B - (y / ymax) * (H - T - B);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2 - R / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`,
    `<text x="14" y="${(T + H - B) / 2}" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const xv = (xmax * i) / 4, yv = (ymax * i) / 4;
    parts.push(`<text x="${X(xv)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${xv.toFixed(xv < 10 ? 1 : 0)}</text>`);
    parts.push(`<text x="${L - 4}" y="${Y(yv) + 3}" font-size="10" text-anchor="end">${yv.toFixed(yv < 10 ? 2 : 0)}</text>`);
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (mode === 'dots') for (const [x, y] of s.points) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2" fill="${color}"/>`);
    else parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<rect x="${W - R + 10}" y="${T + i * 16}" width="10" height="10" fill="${color}"/><text x="${W - R + 24}" y="${T + i * 16 + 9}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function toHtml(r: Report): string {
  const t0 = Math.min(...r.services.map((s) => s.createdAt ?? Infinity));
  const overTime = (['service_ready', 'revision_ready', 'ingress_ready'] as MetricName[]).map((m) => ({
    name: m,
    points: r.services.filter((s) => s.durations[m] !== undefined && s.createdAt !== undefined).map((s) => [(s.createdAt! - t0) / 1000, s.durations[m]!] as [number, number]),
  }));
  const cdf = METRICS.filter((m) => r.summaries[m]).map((m) => {
    const vals = r.services.map((s) => s.durations[m]).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    return { name: m, points: vals.map((v, i) => [v, (i + 1) / vals.length] as [number, number]) };
  });
  const rows = METRICS.filter((m) => r.summaries[m]).map((m) => {
    const s = r.summaries[m]!;
    return `<tr><td>${m}</td>${[s.count, s.min, s.mean, s.p50, s.p90, s.p95, s.p99, s.max].map((v) => `<td>${v.toFixed(0)}</td>`).join('')}</tr>`;
  }).join('');
  const notReady = r.services.filter((s) => !s.ready);
  return `<!doctype html><html><head><meta charset="utf-8"><title>sluice readiness — ${esc(r.run.scenario ?? 'run')}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}</style></head><body>
<h1>Readiness benchmark${r.run.scenario ? ` — ${esc(r.run.scenario)}` : ''}</h1>
<p>${r.headline.ready}/${r.run.services} services ready · ${r.run.services} created every ${r.run.intervalMs} ms in batches of ${r.run.batch} over ${r.run.namespaces} namespace(s) · image <code>${esc(r.run.image)}</code> · target ${esc(r.run.target)} · ${r.run.machine.cores} cores, ${r.run.machine.memoryMb} MB · ${esc(r.run.startedAt)} → ${esc(r.run.finishedAt)}</p>
<h2>Durations (ms)</h2><table><tr><th>metric</th><th>count</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>${rows}</table>
<p>Headline: <code>${esc(JSON.stringify(r.headline))}</code></p>
<h2>Readiness over creation time</h2>${svgPlot('duration by creation time', overTime, 'seconds since first create', 'ms', 'dots')}
<h2>CDF per metric</h2>${svgPlot('cumulative distribution', cdf, 'ms', 'fraction of services', 'line')}
${notReady.length ? `<h2>Not ready (${notReady.length})</h2><ul>${notReady.slice(0, 200).map((s) => `<li>${esc(s.namespace)}/${esc(s.name)}: ${esc((s.notReadyConditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}: ${c.message ?? ''})` : ''}`).join('; ') || 'no conditions')}</li>`).join('')}</ul>` : ''}
</body></html>\n`;
}

export function writeReport(dir: string, r: Report): { csv: string; json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { csv: path.join(dir, 'readiness.csv'), json: path.join(dir, 'readiness.json'), html: path.join(dir, 'readiness.html') };
  fs.writeFileSync(files.csv, toCsv(r));
  fs.writeFileSync(files.json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(files.html, toHtml(r));
  return files;
}
