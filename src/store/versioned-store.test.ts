/** Engine behaviour that needs a journal under test control: failed commits roll back. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Journal, JournalChange, JournalState } from './journal.ts';
import { VersionedStore } from './versioned-store.ts';
import { KSVC, collector, ksvc, rejectsWith, turns } from './testing/contract-helpers.ts';

class FlakyJournal implements Journal {
  readonly groupCommit: boolean;
  failNext = false;
  batches: JournalChange[][] = [];
  constructor(groupCommit: boolean) { this.groupCommit = groupCommit; }
  load(): JournalState { return { rv: 41, objects: [] }; }
  write(changes: readonly JournalChange[]): void {
    if (this.failNext) { this.failNext = false; throw new Error('disk full'); }
    this.batches.push([...changes]);
  }
  close(): void {}
}

for (const groupCommit of [true, false]) {
  describe(`versioned store engine (groupCommit=${groupCommit})`, () => {
    it('starts after the journal counter', async () => {
      const store = new VersionedStore(new FlakyJournal(groupCommit));
      const a = await store.create(KSVC, ksvc('a'));
      assert.equal(a.metadata.resourceVersion, '42');
      await store.close();
    });

    it('rolls back a failed batch: every write of it rejected, nothing visible, no events', async () => {
      const journal = new FlakyJournal(groupCommit);
      const store = new VersionedStore(journal);
      const kept = await store.create(KSVC, ksvc('kept'));
      const col = collector();
      const w = store.watch(KSVC, {}, col.handler);
      journal.failNext = true;
      const writes = [
        store.create(KSVC, ksvc('lost-1')),
        store.update(KSVC, { ...kept, metadata: { ...kept.metadata, labels: { x: 'y' } } }),
        store.delete(KSVC, 'default', 'kept'),
      ];
      for (const p of writes) await rejectsWith(p, 'SLUICE_E_STORE', 500, /commit of 3 change\(s\) failed, nothing was written: disk full/);
      assert.equal(await store.get(KSVC, 'default', 'lost-1'), undefined);
      assert.deepEqual(await store.get(KSVC, 'default', 'kept'), kept);
      assert.equal(await store.currentResourceVersion(), kept.metadata.resourceVersion);
      await turns();
      assert.deepEqual(col.lines(), []);
      // The store keeps working afterwards.
      const next = await store.create(KSVC, ksvc('lost-1'));
      assert.equal(Number(next.metadata.resourceVersion), Number(kept.metadata.resourceVersion) + 1);
      await turns();
      assert.deepEqual(col.lines(), ['ADDED lost-1']);
      w.stop();
      await store.close();
    });

    it('batches writes of one tick into one journal write', async () => {
      const journal = new FlakyJournal(groupCommit);
      const store = new VersionedStore(journal);
      await Promise.all([store.create(KSVC, ksvc('a')), store.create(KSVC, ksvc('b')), store.create(KSVC, ksvc('c'))]);
      assert.deepEqual(journal.batches.map((b) => b.map((c) => c.name)), [['a', 'b', 'c']]);
      await store.close();
      await rejectsWith(store.create(KSVC, ksvc('late')), 'SLUICE_E_STORE', 500, /closed/);
    });
  });
}

/** A journal whose sync the test resolves by hand (what SqliteJournal's WAL fsync does off the event loop). */
class SyncedJournal extends FlakyJournal {
  syncs: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  constructor() { super(true); }
  sync(): Promise<void> {
    return new Promise((resolve, reject) => this.syncs.push({ resolve, reject }));
  }
}

describe('versioned store engine with a journal sync', () => {
  it('acknowledges, publishes and lets reads see a batch only once its sync resolved, in order', async () => {
    const journal = new SyncedJournal();
    const store = new VersionedStore(journal);
    const col = collector();
    const w = store.watch(KSVC, {}, col.handler);
    let aDone = false, bDone = false;
    const a = store.create(KSVC, ksvc('a')).then((o) => { aDone = true; return o; });
    await turns();
    assert.equal(journal.batches.length, 1, 'the batch is written at once');
    const b = store.create(KSVC, ksvc('b')).then((o) => { bDone = true; return o; });
    await turns();
    assert.equal(journal.batches.length, 2, 'a later batch is written while the first waits for its sync');
    let readDone = false;
    const read = store.get(KSVC, 'default', 'a').then((o) => { readDone = true; return o; });
    await turns();
    assert.equal(aDone, false, 'not acknowledged before the sync');
    assert.equal(readDone, false, 'a read waits for the sync too');
    assert.deepEqual(col.lines(), [], 'nothing published before the sync');
    journal.syncs[0]!.resolve();
    await turns();
    assert.equal(aDone, true, 'the first batch is acknowledged');
    assert.equal(bDone, false, 'the second waits for its own sync');
    assert.deepEqual(col.lines(), ['ADDED a']);
    journal.syncs[1]!.resolve();
    assert.equal((await b).metadata.name, 'b');
    assert.equal((await read)?.metadata.name, 'a');
    assert.deepEqual(col.lines(), ['ADDED a', 'ADDED b'], 'published in resourceVersion order');
    w.stop();
    await store.close();
  });

  it('a failed sync rejects the batch\'s writers with a clear error; close waits for syncs in flight', async () => {
    const journal = new SyncedJournal();
    const store = new VersionedStore(journal);
    const a = store.create(KSVC, ksvc('a'));
    await turns();
    journal.syncs[0]!.reject(new Error('EIO: i/o error, fsync'));
    await rejectsWith(a, 'SLUICE_E_STORE', 500, /not made durable: EIO/);
    const b = store.create(KSVC, ksvc('b'));
    await turns();
    let closed = false;
    const closing = store.close().then(() => { closed = true; });
    await turns();
    assert.equal(closed, false, 'close waits for the sync in flight');
    journal.syncs[1]!.resolve();
    await closing;
    assert.equal((await b).metadata.name, 'b');
  });
});
