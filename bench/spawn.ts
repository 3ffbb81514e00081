/**
 * `npm run bench:spawn`: the reference for the readiness `burst` scenario — N bare `node` starts of
 * the same app (`sluice/hello`, src/runtime/apps/hello.cjs) at once, on this machine, timed from
 * the spawn of the first to each one's "listening" line. `burst` creates 1,000 Knative Services at
 * once; each needs one such process, so this is how fast the machine alone can bring 1,000 up.
 * Prints p50/p90/p99/max and the time until all listened, writes bench/results/spawn.json (cores,
 * memory, load average) and ends with one JSON line.
 *
 *   node --import tsx bench/spawn.ts [--count 1000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const APP = path.join(root, 'src/runtime/apps/hello.cjs');
const TIMEOUT_MS = 300_000;
const COUNT = Number(new Command().option('--count <n>', 'processes started at once', '1000').parse().opts().count);

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const killAll = () => { for (const c of children) c.kill('SIGKILL'); };
  process.on('exit', killAll);
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  const t0 = performance.now();
  const times = await Promise.all(Array.from({ length: COUNT }, () => new Promise<number>((resolve, reject) => {
    const c = spawn(process.execPath, [APP], { env: { PORT: '0', HOST: '127.0.0.1', PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(c);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`a bare node app did not listen within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    c.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening')) { clearTimeout(timer); resolve(performance.now() - t0); c.stdout!.removeAllListeners('data'); c.stdout!.resume(); }
    });
    c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`a bare node app exited with ${code} before listening`)); });
  })));
  let usedMb = 0;
  try { const m = fs.readFileSync('/proc/meminfo', 'utf8'); const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(m)?.[1] ?? 0); usedMb = Math.round((kb('MemTotal') - kb('MemAvailable')) / 1024); } catch { /* not Linux */ }
  killAll();
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
  const result = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, memory_mb: Math.round(os.totalmem() / 2 ** 20), node: process.version, loadavg_before: loadBefore, loadavg_after: os.loadavg().map((x) => +x.toFixed(2)) },
    count: COUNT, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: q(1), memory_used_mb_with_all_running: usedMb,
  };
  process.stdout.write(`${COUNT} bare node starts at once: p50 ${result.p50_ms} ms, p90 ${result.p90_ms}, p99 ${result.p99_ms}, all listening after ${result.max_ms} ms; machine memory in use with all running ${usedMb} MB\n`);
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/spawn.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ count: COUNT, p50_ms: result.p50_ms, p99_ms: result.p99_ms, max_ms: result.max_ms }) + '\n');
}
main().then(() => process.exit(0), (e) => { process.stderr.write(String(e?.stack ?? e) + '\n'); process.exit(1); });
