/**
 * Durability: `sluice up` on the sqlite store is SIGKILLed in the middle of 500 creates from
 * several concurrent clients, then restarted on the same state dir. Every create that was
 * answered 201 is there, and new resourceVersions are greater than every acknowledged one.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SERVICES, call, ksvc, startSluice, tempDir, type SluiceProc } from './api-harness.ts';

const TOTAL = 500;
const CLIENTS = 8;
const KILL_AFTER = 150;

let procs: SluiceProc[] = [];
const stateDir = tempDir('sluice-durability-');
after(async () => {
  for (const p of procs) await p.stop();
  procs[0]?.cleanup();
});

test('every acknowledged create survives SIGKILL; resourceVersions keep increasing', async () => {
  const first = await startSluice({ store: 'sqlite', stateDir });
  procs.push(first);
  const acked = new Map<string, number>();
  let next = 0;
  let killed = false;
  const client = async (): Promise<void> => {
    while (next < TOTAL) {
      const name = `d-${next++}`;
      try {
        const r = await call(first, 'POST', SERVICES, ksvc(name));
        if (r.status === 201) acked.set(name, Number(r.body.metadata.resourceVersion));
        else if (!killed) assert.fail(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      } catch {
        if (!killed) throw new Error(`create ${name} failed before the kill`);
        return; // the server is gone
      }
      if (!killed && acked.size >= KILL_AFTER) {
        killed = true;
        first.proc.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  assert.ok(killed, 'the server was killed mid-run');
  assert.ok(acked.size >= KILL_AFTER && acked.size < TOTAL, `killed in the middle (${acked.size} acknowledged)`);
  await first.stop();

  const second = await startSluice({ store: 'sqlite', stateDir });
  procs.push(second);
  const list = await call(second, 'GET', SERVICES);
  assert.equal(list.status, 200);
  const present = new Set<string>(list.body.items.map((o: any) => o.metadata.name));
  const missing = [...acked.keys()].filter((n) => !present.has(n));
  assert.deepEqual(missing, [], 'every create answered 201 is in the store');
  const maxAcked = Math.max(...acked.values());
  const r = await call(second, 'POST', SERVICES, ksvc('after-restart'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(Number(r.body.metadata.resourceVersion) > maxAcked, `new rv ${r.body.metadata.resourceVersion} > ${maxAcked}`);
  assert.ok(Number(list.body.metadata.resourceVersion) >= maxAcked);
});
