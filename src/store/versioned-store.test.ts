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
