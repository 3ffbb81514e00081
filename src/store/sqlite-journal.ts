/**
 * SQLite persistence for the store engine (better-sqlite3, WAL). One table of objects keyed by
 * resource/namespace/name holding the serialized object (and its rv), and a meta row with the
 * resourceVersion counter, written in the same transaction whenever a batch ends with a delete:
 * the counter at load is the larger of the two, so resourceVersions keep growing across restarts.
 *
 * Durability: 'full' (the default) makes a batch survive a power cut before it is acknowledged:
 * the WAL is fsynced after every commit — by this journal, off the event loop, not by SQLite.
 * SQLite runs with synchronous=NORMAL (a commit's WAL frames are written to the OS, so a process
 * kill loses nothing committed; SQLite itself syncs around checkpoints), and `sync()` fsyncs the
 * WAL file on libuv's thread pool; the engine acknowledges a batch when that resolves. SQLite's
 * own synchronous=FULL did the same fsync inside COMMIT, blocking the control process's event
 * loop for the length of an fsync on every batch (30% of its busy time in a readiness run).
 * Batches committed while an fsync runs share the next one. 'normal' skips the fsync: it survives
 * a process kill but may lose the last commits on power loss; it is offered for machines whose
 * fsync is slow. The engine's group commit makes every write of a tick share one transaction.
 *
 * The database is opened in EXCLUSIVE locking mode: the engine caches every object in memory,
 * so a second process writing the same file would go unseen; it is refused instead.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Journal, JournalChange, JournalState } from './journal.ts';
import { storeFailure } from './store-errors.ts';

export type SqliteSync = 'full' | 'normal';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  resource TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  rv INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

export class SqliteJournal implements Journal {
  readonly groupCommit = true;
  readonly sync?: () => Promise<void>;
  private readonly db: Database.Database;
  private walFd: number | undefined;
  private fsyncRunning = false;
  private fsyncWaiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly writeBatch: (changes: readonly JournalChange[], rv: number) => void;

  constructor(readonly file: string, sync: SqliteSync = 'full') {
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new Database(file);
    } catch (e) {
      throw storeFailure(`cannot open store database ${file}: ${(e as Error).message}`, e);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.exec(SCHEMA);
      // Take the exclusive lock now (first write), so a second opener fails here, not later.
      this.db.prepare(`INSERT INTO meta(key, value) VALUES ('schema', 1) ON CONFLICT(key) DO UPDATE SET value = 1`).run();
      // The WAL exists from the first write on and, in exclusive locking mode, stays the same file
      // until the database is closed (a checkpoint rewinds it in place).
      if (sync === 'full') this.walFd = fs.openSync(`${file}-wal`, 'r');
    } catch (e) {
      this.db.close();
      if (this.walFd !== undefined) fs.closeSync(this.walFd);
      const busy = (e as { code?: string }).code === 'SQLITE_BUSY';
      throw storeFailure(busy
        ? `store database ${file} is in use by another process: stop the other sluice using this state dir, or pick another one`
        : `cannot initialise store database ${file}: ${(e as Error).message}`, e);
    }
    const upsert = this.db.prepare(
      `INSERT INTO objects(resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(resource, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data`);
    const del = this.db.prepare(`DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?`);
    const setRv = this.db.prepare(`INSERT INTO meta(key, value) VALUES ('rv', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
    this.writeBatch = this.db.transaction((changes: readonly JournalChange[], rv: number) => {
      for (const c of changes) {
        if (c.op === 'put') upsert.run(c.resource, c.namespace, c.name, c.rv, c.json!);
        else del.run(c.resource, c.namespace, c.name);
      }
      // The counter is max(meta.rv, max(objects.rv)) at load: the meta row only needs writing when
      // the batch's last rv is not stored on an object (a delete). Saves a page per commit.
      const last = changes[changes.length - 1];
      if (!last || last.op === 'delete' || last.rv !== rv) setRv.run(rv);
    });
    if (this.walFd !== undefined) this.sync = () => this.fsyncWal();
  }

  load(): JournalState {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'rv'`).get() as { value: number } | undefined;
    const objects = this.db.prepare(`SELECT resource, data AS json FROM objects ORDER BY resource, namespace, name`).all() as { resource: string; json: string }[];
    return { rv: row?.value ?? 0, objects };
  }

  write(changes: readonly JournalChange[], rv: number): void {
    this.writeBatch(changes, rv);
  }

  private fsyncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.fsyncWaiting.push({ resolve, reject });
      this.nextFsync();
    });
  }

  /** One fsync at a time; everyone who asked while it ran shares the next one (it covers their commits). */
  private nextFsync(): void {
    if (this.fsyncRunning || this.fsyncWaiting.length === 0 || this.walFd === undefined) return;
    const batch = this.fsyncWaiting;
    this.fsyncWaiting = [];
    this.fsyncRunning = true;
    fs.fsync(this.walFd, (err) => {
      this.fsyncRunning = false;
      for (const w of batch) {
        // The engine turns this into the writers' store failure.
        if (err) w.reject(new Error(`fsync of ${this.file}-wal failed: ${err.message}`, { cause: err }));
        else w.resolve();
      }
      this.nextFsync();
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.walFd !== undefined) { fs.closeSync(this.walFd); this.walFd = undefined; }
  }
}
