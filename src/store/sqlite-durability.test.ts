/**
 * Durability: a real child process writes to a SqliteStore and reports each acknowledged write;
 * it is killed with SIGKILL mid-run; the reopened file must hold every acknowledged create
 * (and not hold acknowledged deletes), and new resourceVersions must exceed every old one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from './sqlite-store.ts';
import { KSVC, ksvc, rvNum } from './testing/contract-helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, 'testing', 'durable-writer.ts');

interface Ack { op: 'create' | 'delete'; name: string; rv: number }

/** Runs the writer until it has acknowledged `killAfter` writes, then SIGKILLs it. Bounded by `timeoutMs`. */
function runAndKill(file: string, sync: 'full' | 'normal', killAfter: number, timeoutMs: number): Promise<{ acks: Ack[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file, '100000', sync], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let buf = '', stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = /^ack (create|delete) (\S+) (\d+)$/.exec(line);
        if (m) acks.push({ op: m[1] as Ack['op'], name: m[2]!, rv: Number(m[3]) });
        if (acks.length >= killAfter && !child.killed) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer ended without being killed (signal ${signal}): ${stderr}`));
      else resolve({ acks, signal });
    });
  });
}

describe('sqlite store: durability across SIGKILL', () => {
  // 'normal' (WAL without fsync per commit) must survive a process kill too: the commit reached the OS.
  for (const sync of ['full', 'normal'] as const) it(`keeps every acknowledged write and keeps resourceVersions increasing (synchronous=${sync})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-durable-'));
    const file = path.join(dir, 'store.db');
    try {
      const { acks } = await runAndKill(file, sync, 300, 30_000);
      assert.ok(acks.length >= 300, `writer acknowledged ${acks.length} writes before the kill`);
      const store = new SqliteStore({ path: file });
      try {
        const deleted = new Set(acks.filter((a) => a.op === 'delete').map((a) => a.name));
        assert.ok(deleted.size > 0, 'the run included deletes');
        for (const a of acks) {
          if (a.op !== 'create') continue;
          const o = await store.get(KSVC, 'default', a.name);
          if (deleted.has(a.name)) assert.equal(o, undefined, `${a.name} was deleted and acknowledged`);
          else {
            assert.ok(o, `acknowledged create ${a.name} (rv ${a.rv}) survived`);
            assert.equal(rvNum(o), a.rv);
          }
        }
        const maxAcked = Math.max(...acks.map((a) => a.rv));
        const current = Number(await store.currentResourceVersion());
        assert.ok(current >= maxAcked, `store resourceVersion ${current} ≥ every acknowledged rv (${maxAcked})`);
        const fresh = await store.create(KSVC, ksvc('after-restart'));
        assert.ok(rvNum(fresh) > maxAcked, `new rv ${fresh.metadata.resourceVersion} > every acknowledged rv (${maxAcked})`);
        const listed = await store.list(KSVC);
        for (const o of listed.items) assert.ok(rvNum(o) <= rvNum(fresh), `${o.metadata.name} rv ${o.metadata.resourceVersion} ≤ ${fresh.metadata.resourceVersion}`);
      } finally {
        await store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
