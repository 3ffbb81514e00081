/**
 * A work queue keyed by `namespace/name`, with client-go's semantics:
 * - a key added while already queued is collapsed into the one entry (dirty set);
 * - a key is never handed to two workers at once: added while processing, it is re-queued
 *   when `done(key)` is called;
 * - `addAfter(key, ms)` delays through the injected Clock;
 * - `addRateLimited(key)` delays by a per-key exponential backoff that `forget(key)` resets.
 * Written by hand because no maintained npm package offers these exact semantics (dedup +
 * exclusive processing + per-key backoff) without pulling a job-queue server.
 */
import type { Clock, Timer } from '../lib/clock.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { SluiceError } from '../lib/errors.ts';
import { ControllerErrors } from './reconcile-result.ts';

export interface WorkQueueOptions {
  clock: Clock;
  /** First retry delay (client-go: 5 ms). */
  baseDelayMs?: number;
  /** Retry delay ceiling (client-go: 1000 s; sluice: 5 min). */
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.clock = opts.clock;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const w = this.waiters.shift();
    if (w) { this.dirty.delete(key); this.processing.add(key); w(key); return; }
    this.queue.push(key);
  }

  /** Adds the key after `ms`; an earlier pending delayed add for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) { this.add(key); return; }
    const at = this.clock.now() + ms;
    const prev = this.delayed.get(key);
    if (prev && prev.at <= at) return;
    if (prev) this.clock.clearTimeout(prev.timer);
    const timer = this.clock.setTimeout(() => { this.delayed.delete(key); this.add(key); }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Requeues with exponential backoff for this key: base, 2×base, ... up to max. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const ms = backoffDelay(n, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs });
    this.addAfter(key, ms);
    return ms;
  }

  /** Resets the key's backoff (after a successful reconcile). */
  forget(key: string): void { this.failures.delete(key); }
  numRequeues(key: string): number { return this.failures.get(key) ?? 0; }

  /** Resolves with the next key (marked processing) or undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown && this.queue.length === 0) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key finished; if it was added meanwhile it goes back on the queue. */
  done(key: string): void {
    if (!this.processing.delete(key)) {
      throw new SluiceError(ControllerErrors.QueueDoneUnknown, `work queue: done("${key}") called for a key that is not being processed`);
    }
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  len(): number { return this.queue.length; }
  processingCount(): number { return this.processing.size; }
  isProcessing(key: string): boolean { return this.processing.has(key); }
  isQueued(key: string): boolean { return this.dirty.has(key); }
  isShutDown(): boolean { return this.shuttingDown; }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) this.clock.clearTimeout(d.timer);
    this.delayed.clear();
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w(undefined);
  }
}
