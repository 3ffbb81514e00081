/** Picks a store backend by name: what `sluice up` and tests call. */
import path from 'node:path';
import type { Clock } from '../lib/clock.ts';
import type { Store } from './store.ts';
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { SqliteSync } from './sqlite-journal.ts';
import { badRequest } from './store-errors.ts';

export interface OpenStoreOptions {
  backend: 'sqlite' | 'memory';
  /** SQLite database file; required for 'sqlite' (e.g. `<state-dir>/store.db`). */
  path?: string;
  clock?: Clock;
  historyLimit?: number;
  synchronous?: SqliteSync;
}

export function openStore(opts: OpenStoreOptions): Store {
  switch (opts.backend) {
    case 'memory':
      return new MemoryStore({ clock: opts.clock, historyLimit: opts.historyLimit });
    case 'sqlite':
      if (!opts.path) throw badRequest('store backend "sqlite" needs a database path (openStore({ backend: "sqlite", path }))');
      return new SqliteStore({ path: path.resolve(opts.path), clock: opts.clock, historyLimit: opts.historyLimit, synchronous: opts.synchronous });
    default:
      throw badRequest(`unknown store backend "${(opts as { backend: string }).backend}": expected "sqlite" or "memory"`);
  }
}
