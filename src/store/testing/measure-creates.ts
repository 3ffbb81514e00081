/**
 * Quick store write measurement: sequential durable creates/s (each awaited before the next)
 * and concurrent creates/s (group commit), on a temp SQLite file, beside a raw better-sqlite3
 * insert loop with the same durability (the physical limit), and watch-event latency with 100
 * watchers (from the create call to each watcher's handler).
 *   node --import tsx src/store/testing/measure-creates.ts [count] [full|normal]
 * Prints one JSON line.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../sqlite-store.ts';
import type { SqliteSync } from '../sqlite-journal.ts';

const count = Math.min(Math.max(Number(process.argv[2] ?? 2000), 1), 100_000);
const sync = (process.argv[3] ?? 'full') as SqliteSync;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-measure-'));

function manifest(name: string) {
  return {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { template: { spec: { containers: [{ image: 'sluice/hello', ports: [{ containerPort: 8080 }] }] } } },
  };
}

try {
  const raw = new Database(path.join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  raw.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID');
  const ins = raw.prepare('INSERT INTO t VALUES (?, ?)');
  let t0 = performance.now();
  for (let i = 0; i < count; i++) ins.run(`k${i}`, JSON.stringify(manifest(`k${i}`)));
  const rawPerS = count / ((performance.now() - t0) / 1000);
  raw.close();

  const store = new SqliteStore({ path: path.join(dir, 'store.db'), synchronous: sync });
  const r = 'serving.knative.dev/services';
  t0 = performance.now();
  for (let i = 0; i < count; i++) await store.create(r, manifest(`seq-${i}`));
  const seqPerS = count / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => store.create(r, manifest(`par-${i + j}`))));
  }
  const parPerS = count / ((performance.now() - t0) / 1000);
  // Watch latency: 100 watchers, sequential creates; from the create call to each handler call.
  const started = new Map<string, number>();
  const lat: number[] = [];
  const watches = Array.from({ length: 100 }, () => store.watch(r, {}, (ev) => {
    const t = started.get(ev.object.metadata.name!);
    if (t !== undefined) lat.push(performance.now() - t);
  }));
  const watched = Math.min(count, 1000);
  for (let i = 0; i < watched; i++) {
    const name = `w-${i}`;
    started.set(name, performance.now());
    await store.create(r, manifest(name));
  }
  for (const w of watches) w.stop();
  lat.sort((a, b) => a - b);
  const p = (q: number) => Number(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!.toFixed(3));
  await store.close();
  console.log(JSON.stringify({
    synchronous: sync, count, sqlite_inserts_per_s: Math.round(rawPerS), sequential_creates_per_s: Math.round(seqPerS),
    concurrent100_creates_per_s: Math.round(parPerS), watchers: 100, watch_events: lat.length, watch_p50_ms: p(0.5), watch_p99_ms: p(0.99),
  }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
