/**
 * Durable store: the shared engine over a SQLite journal. Reads are served from memory (the
 * whole object set is loaded at open, as a Kubernetes API server's watch cache holds it);
 * every write is acknowledged only after its transaction commits (see sqlite-journal.ts for the
 * durability level and group commit).
 */
import type { Clock } from '../lib/clock.ts';
import type { Rng } from '../lib/rng.ts';
import { SqliteJournal, type SqliteSync } from './sqlite-journal.ts';
import { VersionedStore } from './versioned-store.ts';

export interface SqliteStoreOptions {
  /** Database file (created with its directory if missing). */
  path: string;
  clock?: Clock;
  historyLimit?: number;
  rng?: Rng;
  /** 'full' (default): fsync per commit, survives power loss. 'normal': survives process kills only. */
  synchronous?: SqliteSync;
}

export class SqliteStore extends VersionedStore {
  readonly path: string;
  constructor(opts: SqliteStoreOptions) {
    super(new SqliteJournal(opts.path, opts.synchronous ?? 'full'), opts);
    this.path = opts.path;
  }
}
