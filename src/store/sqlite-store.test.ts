import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runStoreContract } from './store-contract.ts';
import { SqliteStore } from './sqlite-store.ts';
import { openStore } from './open-store.ts';
import { KSVC, ksvc, rejectsWith, rvNum } from './testing/contract-helpers.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
}

runStoreContract('sqlite', async (opts) => {
  const dir = tempDir();
  const store = new SqliteStore({ path: path.join(dir, 'store.db'), clock: opts?.clock, historyLimit: opts?.historyLimit });
  return { store, cleanup: async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
});

describe('sqlite store: persistence', () => {
  it('reopens with every object and keeps resourceVersions increasing, even after deletes', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'store.db');
    try {
      let store = new SqliteStore({ path: file });
      const a = await store.create(KSVC, ksvc('a', { labels: { k: 'v' } }));
      await store.create(KSVC, ksvc('b'));
      const del = await store.delete(KSVC, 'default', 'b');
      await store.close();
      store = new SqliteStore({ path: file });
      assert.deepEqual(await store.get(KSVC, 'default', 'a'), a);
      assert.equal(await store.get(KSVC, 'default', 'b'), undefined);
      assert.equal(await store.currentResourceVersion(), del.metadata.resourceVersion);
      const c = await store.create(KSVC, ksvc('c'));
      assert.ok(rvNum(c) > rvNum(del));
      // History is not persisted: resuming from before the restart is 410, from the restart point is fine.
      assert.throws(() => store.watch(KSVC, { resourceVersion: a.metadata.resourceVersion }, () => undefined), /too old resource version/);
      store.watch(KSVC, { resourceVersion: del.metadata.resourceVersion }, () => undefined).stop();
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares one transaction among writes issued in the same tick, all acknowledged', async () => {
    const dir = tempDir();
    try {
      const store = new SqliteStore({ path: path.join(dir, 'store.db') });
      const created = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create(KSVC, ksvc(`g${i}`))));
      assert.equal(new Set(created.map((o) => o.metadata.resourceVersion)).size, 50);
      assert.equal((await store.list(KSVC)).items.length, 50);
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a second open of the same file while the first holds it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'store.db');
    try {
      const first = new SqliteStore({ path: file });
      await first.create(KSVC, ksvc('a'));
      assert.throws(() => new SqliteStore({ path: file }), (e: unknown) => (e as { code?: string }).code === 'SLUICE_E_STORE' && /in use by another process/.test((e as Error).message));
      await first.close();
      const again = new SqliteStore({ path: file });
      assert.ok(await again.get(KSVC, 'default', 'a'));
      await again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('openStore picks the backend and refuses bad options', async () => {
    const dir = tempDir();
    try {
      const s = openStore({ backend: 'sqlite', path: path.join(dir, 'x', 'store.db') });
      assert.ok(s instanceof SqliteStore);
      await s.close();
      assert.ok(fs.existsSync(path.join(dir, 'x', 'store.db')));
      const m = openStore({ backend: 'memory' });
      await m.create(KSVC, ksvc('m'));
      await m.close();
      await rejectsWith(() => openStore({ backend: 'sqlite' }), 'SLUICE_E_BAD_REQUEST', 400, /needs a database path/);
      await rejectsWith(() => openStore({ backend: 'etcd' as 'memory' }), 'SLUICE_E_BAD_REQUEST', 400, /unknown store backend "etcd"/);
      await rejectsWith(s.get(KSVC, 'default', 'm'), 'SLUICE_E_STORE', 500, /closed/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite journal durability modes', () => {
  it("'full' fsyncs the WAL off the event loop after each commit (sync); 'normal' has no sync", async () => {
    const { SqliteJournal } = await import('./sqlite-journal.ts');
    const dir = tempDir();
    try {
      const full = new SqliteJournal(path.join(dir, 'full.db'), 'full');
      assert.equal(typeof full.sync, 'function', "'full' exposes sync");
      full.write([{ op: 'put', resource: KSVC, namespace: 'default', name: 'a', rv: 1, json: JSON.stringify(ksvc('a')) }], 1);
      await Promise.all([full.sync!(), full.sync!()]); // concurrent callers share fsyncs and all resolve
      full.close();
      const again = new SqliteJournal(path.join(dir, 'full.db'), 'full');
      assert.deepEqual(again.load().objects.map((o) => JSON.parse(o.json).metadata.name), ['a'], 'the synced write is there after reopening');
      again.close();
      const normal = new SqliteJournal(path.join(dir, 'normal.db'), 'normal');
      assert.equal(normal.sync, undefined, "'normal' does not fsync");
      normal.close();
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
