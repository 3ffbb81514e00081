/**
 * In-memory store: the shared engine with a journal that persists nothing. For tests, and for
 * `sluice up` runs that do not need to survive a restart.
 */
import type { Clock } from '../lib/clock.ts';
import type { Rng } from '../lib/rng.ts';
import { NullJournal } from './journal.ts';
import { VersionedStore } from './versioned-store.ts';

export interface MemoryStoreOptions { clock?: Clock; historyLimit?: number; rng?: Rng }

export class MemoryStore extends VersionedStore {
  constructor(opts: MemoryStoreOptions = {}) {
    super(new NullJournal(), opts);
  }
}
