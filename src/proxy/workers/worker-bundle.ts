/**
 * How the supervisor starts a worker. Workers run from a single ESM bundle of worker-main.ts that
 * esbuild (the compiler tsx itself uses) builds at proxy start, so a worker is plain Node: no
 * tsx loader thread (a second V8 isolate, ~35 MB RSS per worker) and no per-module transpiling.
 * The bundle lives in `node_modules/.cache/sluice/` beside the packages it imports (they stay
 * external, so bare specifiers such as `protobufjs` resolve exactly as under tsx), named by the
 * hash of its content so concurrent proxies share one file. Any failure (esbuild missing, read-only
 * node_modules, SLUICE_PROXY_WORKER_TSX=1) falls back to running worker-main.ts under tsx.
 * Built at every proxy start (~0.2 s) rather than shipped, so the bundle always matches the source.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../../lib/log.ts';

export interface WorkerEntry {
  /** Script the worker process runs. */
  exec: string;
  execArgv: string[];
  /** True when running the esbuild bundle, false when under tsx. */
  bundled: boolean;
}

/**
 * V8 flags for a bundled worker. --expose-gc lets worker-main run one compacting collection after
 * a large config update and a second, idle one that shrinks the young generation (see
 * worker-main.ts): that, not a small heap, is what keeps an idle worker's RSS down (10,000 virtual
 * hosts settled: 76.7 MB with these flags, 76.8 MB with the previous ones).
 * --max-semi-space-size=16 (V8's default cap for this heap size): under load the young
 * generation grows to it; with the previous cap of 4 MB a worker at ~10k req/s scavenged every
 * ~24 ms, and the 64 requests in flight at each scavenge were copied and then promoted, ~0.75 MB
 * per scavenge, so the old generation filled and was mark-compacted every ~300 ms: --trace-gc
 * over 8 s of load, 360 scavenges + 29 mark-compacts, ~1 s of pauses; with 16 MB and V8's own
 * old-generation growing (the previous --heap-growing-percent=10 removed), ~100 scavenges, no
 * mark-compact, ~0.12 s. The cost is RSS under load (about +25 MB while serving at full rate).
 * --min-semi-space-size=2: after the idle shrink a worker regrew new space only slowly and
 * scavenged every ~80 requests at 1,500 req/s from 1 MB (2 MB: 332 → 243 scavenges for the same
 * requests). --single-threaded-gc: a worker is one event loop on a machine it shares, and a
 * scavenge that hands work to helper threads waits for them when they are not scheduled; at
 * 6,000 req/s open-loop (bench/proxy/latency.ts, two proxies alternating under the same load),
 * p99 7.96 vs 11.9 ms and 10.5 vs 19.3 ms with and without it, 5 of 6 rounds better; side by side
 * at full rate no measurable throughput difference (-1.5% req/s, -1% CPU per request, mixed
 * rounds). Not used: --optimize-for-size (costs throughput). SLUICE_PROXY_WORKER_V8_FLAGS
 * (space-separated) replaces them, for measuring.
 */
export const WORKER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--min-semi-space-size=2', '--expose-gc', '--single-threaded-gc'];

const require = createRequire(import.meta.url);

/** Removes tsx's loader flags (`--import tsx`, `--loader tsx`, `--require tsx/cjs`) from an execArgv. */
export function withoutTsx(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--import' || a === '--loader' || a === '--require' || a === '-r') && argv[i + 1]?.includes('tsx')) { i++; continue; }
    if (/^--(import|loader|require|experimental-loader)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}

function workerV8Flags(): string[] {
  const env = process.env.SLUICE_PROXY_WORKER_V8_FLAGS;
  return env !== undefined ? env.split(' ').filter(Boolean) : [...WORKER_V8_FLAGS];
}

function tsxEntry(source: string, parentArgv: readonly string[]): WorkerEntry {
  const execArgv = parentArgv.some((a) => a.includes('tsx')) ? [...parentArgv] : [...parentArgv, '--import', 'tsx'];
  return { exec: source, execArgv, bundled: false };
}

/** Builds (or reuses) the worker bundle; falls back to tsx on any failure. */
export function workerEntry(parentArgv: readonly string[] = process.execArgv): WorkerEntry {
  const source = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
  if (process.env.SLUICE_PROXY_WORKER_TSX === '1') return tsxEntry(source, parentArgv);
  try {
    const esbuildMain = require.resolve('esbuild');
    const nodeModules = esbuildMain.slice(0, esbuildMain.lastIndexOf(`${path.sep}node_modules${path.sep}`) + `${path.sep}node_modules`.length);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const r = esbuild.buildSync({
      entryPoints: [source], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      packages: 'external', write: false, logLevel: 'silent', legalComments: 'none',
      outfile: 'proxy-worker.mjs',
    });
    const code = r.outputFiles[0]!.contents;
    const hash = crypto.createHash('sha256').update(code).digest('hex').slice(0, 16);
    const dir = path.join(nodeModules, '.cache', 'sluice');
    const file = path.join(dir, `proxy-worker-${hash}.mjs`);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, file);
    }
    return { exec: file, execArgv: [...withoutTsx(parentArgv), ...workerV8Flags()], bundled: true };
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'cannot bundle the proxy worker; running it under tsx');
    return tsxEntry(source, parentArgv);
  }
}
