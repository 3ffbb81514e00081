/**
 * API benchmark (`npm run bench:api`): starts `sluice up --only-api` (API server + sqlite store,
 * no controllers: thousands of Services must not start thousands of pods) as a child process
 * and measures
 *   1. sequential durable creates per second through HTTP (one keep-alive connection),
 *   2. watch-event latency with 100 concurrent watchers: from the create's response (and from
 *      its request) to each watcher receiving the event,
 * beside a raw better-sqlite3 insert loop with the store's durability settings (WAL,
 * synchronous=FULL, one transaction per insert) on the same machine: the physical limit.
 * Prints a table, writes bench/results/api.json, and ends with one JSON line.
 * Every loop is bounded in count and time.
 */
import Database from 'better-sqlite3';
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { readKubeconfig } from '../src/cli/kubeconfig.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CREATES = Number(process.env.BENCH_API_CREATES ?? 3000);
const CREATE_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const WATCHERS = Number(process.env.BENCH_API_WATCHERS ?? 100);
const WATCH_EVENTS = Number(process.env.BENCH_API_WATCH_EVENTS ?? 200);
const SQLITE_INSERTS = Number(process.env.BENCH_API_SQLITE_INSERTS ?? 3000);
const ROUNDS = 5;
const NS_PATH = '/apis/serving.knative.dev/v1/namespaces/default/services';

function body(name: string): string {
  return JSON.stringify({
    apiVersion: 'serving.knative.dev/v1', kind: 'Service',
    metadata: { name, namespace: 'default', labels: { bench: 'api' } },
    spec: { template: { spec: { containers: [{ image: 'sluice/hello', env: [{ name: 'TARGET', value: 'bench' }] }] } } },
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** `Authorization: Bearer <admin token>` for every request: set from the kubeconfig `sluice up` writes (the watcher process gets it through SLUICE_TOKEN). */
let AUTH: Record<string, string> = process.env.SLUICE_TOKEN ? { authorization: `Bearer ${process.env.SLUICE_TOKEN}` } : {};

async function startSluice(stateDir: string): Promise<{ api: string; token: string; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'up', '--state-dir', stateDir, '--api-port', '0', '--store', process.env.BENCH_API_STORE ?? 'sqlite', '--only-api'],
    { cwd: REPO, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sluice up not ready in 30 s: ${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^sluice ready/m.test(out)) { clearTimeout(t); resolve(); }
    });
    proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`sluice up exited ${c}: ${out}`)); });
  });
  const api = (JSON.parse(fs.readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as { api: string }).api;
  const token = readKubeconfig(path.join(stateDir, 'kubeconfig'))?.token;
  if (!token) throw new Error(`${stateDir}/kubeconfig has no token`);
  return {
    api,
    token,
    stop: () => new Promise((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
    }),
  };
}

async function create(pool: Pool, name: string): Promise<{ rv: string }> {
  const res = await pool.request({ method: 'POST', path: NS_PATH, headers: { 'content-type': 'application/json', ...AUTH }, body: body(name) });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`create ${name}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
  return { rv: (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion };
}

interface Rate { n: number; seconds: number; perSecond: number; p50ms: number; p99ms: number }

function rate(lat: number[], seconds: number): Rate {
  lat.sort((a, b) => a - b);
  return { n: lat.length, seconds: r2(seconds), perSecond: Math.round(lat.length / seconds), p50ms: r2(percentile(lat, 50)), p99ms: r2(percentile(lat, 99)) };
}

/**
 * Sequential HTTP creates and raw SQLite inserts, interleaved in ROUNDS short rounds so both see
 * the same machine (disk and CPU load vary over seconds on a shared host).
 */
async function createsBesideRaw(pool: Pool, raw: RawSqlite): Promise<{ creates: Rate; sqlite: Rate }> {
  for (let i = 0; i < 50; i++) await create(pool, `warm-${i}`);
  const httpLat: number[] = [];
  const rawLat: number[] = [];
  let httpTime = 0;
  let rawTime = 0;
  const perRound = (CREATE_SECONDS * 1000) / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    while (rawLat.length < (SQLITE_INSERTS * (round + 1)) / ROUNDS && performance.now() - t0 < perRound) {
      const s = performance.now();
      raw.insert();
      rawLat.push(performance.now() - s);
    }
    rawTime += performance.now() - t0;
    t0 = performance.now();
    while (httpLat.length < (CREATES * (round + 1)) / ROUNDS && performance.now() - t0 < perRound) {
      const s = performance.now();
      await create(pool, `seq-${httpLat.length}`);
      httpLat.push(performance.now() - s);
    }
    httpTime += performance.now() - t0;
  }
  return { creates: rate(httpLat, httpTime / 1000), sqlite: rate(rawLat, rawTime / 1000) };
}

/** Opens `count` watch streams from `rv`; `onEvent(name, t)` per ADDED event (t: epoch ms, sub-ms precision). */
async function openWatchers(api: string, rv: string, count: number, onEvent: (name: string, t: number) => void): Promise<http.ClientRequest[]> {
  const url = new URL(`${NS_PATH}?watch=true&resourceVersion=${rv}&labelSelector=bench%3Dwatch`, api);
  const agent = new http.Agent({ keepAlive: true, maxSockets: count + 10 });
  const reqs: http.ClientRequest[] = [];
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
    const req = http.get(url, { agent, headers: AUTH }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const t = epochNow();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = /"name":"(w-\d+)"/.exec(line);
          if (m && line.startsWith('{"type":"ADDED"')) onEvent(m[1], t);
        }
      });
      res.on('error', () => undefined);
      resolve();
    });
    req.on('error', (e) => { if (!(e as { code?: string }).code?.includes('ECONNRESET')) reject(e); });
    reqs.push(req);
  })));
  return reqs;
}

/** Epoch milliseconds with sub-millisecond precision, comparable across threads. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Watcher process: holds the 100 watch streams so their event handling does not queue behind
 * the creating client's (its own event loop, as separate clients would have).
 */
async function watcherProcess(): Promise<void> {
  const [api, rv, count] = process.argv.slice(3);
  const got: Record<string, number[]> = {};
  const reqs = await openWatchers(api, rv, Number(count), (name, t) => { (got[name] ??= []).push(t); });
  process.send!({ type: 'ready' });
  process.on('message', (m: { type: string; name?: string }) => {
    if (m.type === 'count') process.send!({ type: 'count', name: m.name, n: got[m.name!]?.length ?? 0 });
    if (m.type === 'finish') {
      for (const q of reqs) q.destroy();
      process.send!({ type: 'result', got }, () => process.exit(0));
    }
  });
}

async function watchLatency(api: string, pool: Pool): Promise<Record<string, number>> {
  const rvRes = await pool.request({ method: 'GET', path: `${NS_PATH}?limit=1`, headers: AUTH });
  const rv = (JSON.parse(await rvRes.body.text()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const worker = fork(fileURLToPath(import.meta.url), ['--watchers', api, rv, String(WATCHERS)], { execArgv: ['--import', 'tsx'], env: { ...process.env, SLUICE_TOKEN: AUTH.authorization?.replace(/^Bearer /, '') ?? '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // One waiter at a time: the watcher process answers each message in order.
  let waiter: { type: string; resolve: (m: any) => void; reject: (e: Error) => void } | undefined;
  worker.on('message', (m: { type: string }) => {
    if (waiter && m.type === waiter.type) { const w = waiter; waiter = undefined; w.resolve(m); }
  });
  const failAll = (e: Error): void => { const w = waiter; waiter = undefined; w?.reject(e); };
  worker.on('error', failAll);
  worker.on('exit', (c) => failAll(new Error(`watcher process exited with ${c}`)));
  const next = (type: string): Promise<any> => new Promise((resolve, reject) => { waiter = { type, resolve, reject }; });
  await next('ready');
  const sent = new Map<string, { start: number; done: number }>();
  const deadline = performance.now() + 30_000;
  for (let i = 0; i < WATCH_EVENTS && performance.now() < deadline; i++) {
    const name = `w-${i}`;
    const start = epochNow();
    const res = await pool.request({ method: 'POST', path: NS_PATH, headers: { 'content-type': 'application/json', ...AUTH }, body: body(name).replace('"bench":"api"', '"bench":"watch"') });
    await res.body.text();
    if (res.statusCode !== 201) throw new Error(`create ${name}: HTTP ${res.statusCode}`);
    sent.set(name, { start, done: epochNow() });
    // Let every watcher receive this event before the next create (bounded wait).
    const until = performance.now() + 1000;
    for (;;) {
      const p = next('count');
      worker.send({ type: 'count', name });
      if ((await p).n >= WATCHERS || performance.now() > until) break;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const result = next('result');
  worker.send({ type: 'finish' });
  const got = (await result).got as Record<string, number[]>;
  if (worker.exitCode === null) worker.kill();
  const fromResponse: number[] = [];
  const fromRequest: number[] = [];
  let missing = 0;
  let beforeResponse = 0;
  for (const [name, s] of sent) {
    const ts = got[name] ?? [];
    missing += WATCHERS - ts.length;
    for (const t of ts) {
      if (t < s.done) beforeResponse++;
      fromResponse.push(Math.max(0, t - s.done));
      fromRequest.push(t - s.start);
    }
  }
  fromResponse.sort((a, b) => a - b);
  fromRequest.sort((a, b) => a - b);
  return {
    watchers: WATCHERS, events: sent.size, deliveries: fromResponse.length, missing,
    before_response_share: r2(beforeResponse / Math.max(1, fromResponse.length)),
    p50_ms: r2(percentile(fromResponse, 50)), p99_ms: r2(percentile(fromResponse, 99)), max_ms: r2(fromResponse[fromResponse.length - 1] ?? NaN),
    from_request_p50_ms: r2(percentile(fromRequest, 50)), from_request_p99_ms: r2(percentile(fromRequest, 99)),
  };
}

interface RawSqlite { insert(): void; close(): void }

/** The physical limit: one durable (WAL, synchronous=FULL) single-row transaction per insert. */
function openRawSqlite(dir: string): RawSqlite {
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('locking_mode = EXCLUSIVE');
  db.exec('CREATE TABLE objects (resource TEXT, namespace TEXT, name TEXT, rv INTEGER, data TEXT, PRIMARY KEY (resource, namespace, name))');
  const ins = db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?)');
  const tx = db.transaction((i: number, data: string) => ins.run('serving.knative.dev/services', 'default', `raw-${i}`, i, data));
  const data = body('raw-object-with-a-typical-name');
  let n = 0;
  for (let i = 0; i < 50; i++) tx(-1 - i, data);
  return { insert: () => tx(n++, data), close: () => db.close() };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-api-'));
  try {
    const loadBefore = os.loadavg();
    const raw = openRawSqlite(dir);
    const sluice = await startSluice(path.join(dir, 'state'));
    AUTH = { authorization: `Bearer ${sluice.token}` };
    const pool = new Pool(sluice.api, { connections: 1, pipelining: 1 });
    let creates: Rate;
    let sqlite: Rate;
    let watch: Record<string, number>;
    try {
      ({ creates, sqlite } = await createsBesideRaw(pool, raw));
      watch = await watchLatency(sluice.api, pool);
    } finally {
      raw.close();
      await pool.close();
      await sluice.stop();
    }
    const machine = {
      cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? '', total_memory_bytes: os.totalmem(), platform: `${process.platform}/${process.arch}`, node: process.version,
      // Load average (1 min) before and after: on a shared host this explains much of the spread.
      loadavg_before: r2(loadBefore[0]), loadavg_after: r2(os.loadavg()[0]),
    };
    const rows: [string, string][] = [
      ['sequential creates (HTTP, sqlite, durable)', `${creates.perSecond}/s  (${creates.n} in ${creates.seconds} s; p50 ${creates.p50ms} ms, p99 ${creates.p99ms} ms)`],
      ['raw better-sqlite3 inserts (WAL, FULL)', `${sqlite.perSecond}/s  (${sqlite.n}; p50 ${sqlite.p50ms} ms, p99 ${sqlite.p99ms} ms)`],
      [`watch latency, ${watch.watchers} watchers, from response`, `p50 ${watch.p50_ms} ms, p99 ${watch.p99_ms} ms, max ${watch.max_ms} ms (${watch.deliveries} deliveries, ${watch.missing} missing; ${Math.round(watch.before_response_share * 100)}% arrived before the response)`],
      ['watch latency, from request start', `p50 ${watch.from_request_p50_ms} ms, p99 ${watch.from_request_p99_ms} ms`],
      ['targets', 'creates >= 2000/s, watch p99 <= 10 ms'],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\nsluice API benchmark (${machine.cpus} CPUs, ${Math.round(machine.total_memory_bytes / 2 ** 30)} GiB, load average ${machine.loadavg_before} → ${machine.loadavg_after}; creates and raw inserts interleaved in ${ROUNDS} rounds)\n`);
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
    const summary = { creates_per_s: creates.perSecond, sqlite_inserts_per_s: sqlite.perSecond, watch_p50_ms: watch.p50_ms, watch_p99_ms: watch.p99_ms, watchers: watch.watchers };
    const result = { date: new Date().toISOString(), machine, creates, sqlite, watch, summary };
    fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(REPO, 'bench/results/api.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(summary) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--watchers') await watcherProcess();
else await main();
