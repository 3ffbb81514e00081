/**
 * CLI load benchmark (`npm run bench:cli-load`): what every sluice process pays before it does
 * anything — the gateway's and the mesh proxy's primary processes (`sluice proxy`), `sluice get`,
 * `sluice up` — to load the CLI program (commander and every command's registration).
 *
 * Each sample is a fresh `node --expose-gc` child that registers tsx (as bin/sluice.js does),
 * then either imports src/cli/program.ts (sluice) or nothing more (reference: the same node with
 * tsx and no program), and reports the time of that step, the heap used after a full GC and its
 * RSS. Samples alternate reference / sluice; one warm-up of each is discarded (tsx's cache).
 * Prints a table, writes bench/results/cli-load.json (with cores and memory), ends with one JSON line.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = Number(process.env.BENCH_CLI_SAMPLES ?? 7);

interface Sample { ms: number; heapMb: number; rssMb: number }

function child(loadProgram: boolean): Sample {
  const program = pathToImport(path.join(REPO, 'src/cli/program.ts'));
  const script = `
    const { register } = await import('tsx/esm/api');
    register();
    const t = performance.now();
    ${loadProgram ? `await import(${JSON.stringify(program)});` : ''}
    const ms = performance.now() - t;
    globalThis.gc();
    const m = process.memoryUsage();
    console.log(JSON.stringify({ ms, heapMb: m.heapUsed / 1048576, rssMb: m.rss / 1048576 }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

function pathToImport(p: string): string {
  return new URL(`file://${p}`).href;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

child(false); child(true); // warm-ups: tsx's transform cache
const ref: Sample[] = [];
const sl: Sample[] = [];
for (let i = 0; i < SAMPLES; i++) { ref.push(child(false)); sl.push(child(true)); }
const summary = (xs: Sample[]) => ({ ms: round(median(xs.map((x) => x.ms))), heap_mb: round(median(xs.map((x) => x.heapMb))), rss_mb: round(median(xs.map((x) => x.rssMb))) });
const r = summary(ref), s = summary(sl);
console.log(`${SAMPLES} samples each, medians (node ${process.version}, ${os.cpus().length} cores)`);
console.log(`reference (node + tsx, no program)   load ${String(r.ms).padStart(7)} ms  heap ${String(r.heap_mb).padStart(6)} MB  rss ${String(r.rss_mb).padStart(6)} MB`);
console.log(`sluice CLI program                   load ${String(s.ms).padStart(7)} ms  heap ${String(s.heap_mb).padStart(6)} MB  rss ${String(s.rss_mb).padStart(6)} MB`);
const out = {
  bench: 'cli-load', date: new Date().toISOString(), cores: os.cpus().length, memory_gb: round(os.totalmem() / 2 ** 30), node: process.version,
  samples: SAMPLES, reference: r, sluice: s,
  added_ms: round(s.ms - r.ms), added_heap_mb: round(s.heap_mb - r.heap_mb), added_rss_mb: round(s.rss_mb - r.rss_mb),
};
fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(REPO, 'bench/results/cli-load.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(JSON.stringify({ bench: 'cli-load', sluice_load_ms: s.ms, added_heap_mb: out.added_heap_mb, added_rss_mb: out.added_rss_mb, cores: out.cores }) + '\n');
