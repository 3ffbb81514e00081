/**
 * Persistence behind the shared store engine. The engine keeps every object in memory (the
 * read path) and hands each committed batch of changes to a Journal; a durable journal returns
 * from `write` only once the batch survives a process kill.
 */
export interface JournalChange {
  op: 'put' | 'delete';
  resource: string;
  namespace: string;
  name: string;
  rv: number;
  /** Serialized object for 'put'. */
  json?: string;
}

export interface JournalState {
  /** Highest resourceVersion ever handed out (deletes included). */
  rv: number;
  objects: { resource: string; json: string }[];
}

export interface Journal {
  /** Reads what was persisted (empty for a fresh journal). */
  load(): JournalState;
  /** Writes one batch atomically; `rv` is the counter after the batch. Throws if nothing was written. */
  write(changes: readonly JournalChange[], rv: number): void;
  /**
   * Group commit: the engine defers `write` to the next macrotask so that writes issued in the
   * same tick share one transaction (one fsync). Off for journals where writes cost nothing.
   */
  readonly groupCommit: boolean;
  /**
   * When present, a batch `write` returned from survives a process kill, and survives power loss
   * only once the promise of a `sync()` called after that write resolves. The engine acknowledges
   * and publishes the batch then. Calls resolve in call order.
   */
  sync?(): Promise<void>;
  close(): void;
}

/** The journal of the memory backend: nothing to persist, nothing to load. */
export class NullJournal implements Journal {
  readonly groupCommit = false;
  load(): JournalState { return { rv: 0, objects: [] }; }
  write(): void { /* memory only */ }
  close(): void { /* nothing held */ }
}
