/**
 * A Controller wires informers → a work queue → a reconcile function run by N workers.
 * Outcomes (see reconcile-result.ts): success forgets the key's backoff; `requeueAfter(ms)`
 * forgets it and adds the key again after ms; a permanent error is logged and dropped until the
 * object changes; any other error (conflicts included) requeues the key with per-key backoff.
 */
import type { Clock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import type { InformerHandle } from './informer.ts';
import { WorkQueue } from './work-queue.ts';
import { isPermanentError, isRequeueAfter, type ReconcileResult } from './reconcile-result.ts';

export interface ControllerOptions {
  name: string;
  clock: Clock;
  reconcile: (key: string) => Promise<ReconcileResult>;
  /** Informers whose sync the workers wait for before the first reconcile. */
  informers?: InformerHandle<any>[];
  workers?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called for every reconcile outcome (tests, metrics). */
  onResult?: (key: string, outcome: 'ok' | 'requeue' | 'retry' | 'permanent', err?: unknown) => void;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private running: Promise<void>[] = [];
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue({ clock: opts.clock, baseDelayMs: opts.retryBaseMs, maxDelayMs: opts.retryMaxMs });
  }

  enqueue = (key: string): void => { this.queue.add(key); };
  enqueueAfter(key: string, ms: number): void { this.queue.addAfter(key, ms); }

  /** Starts the workers; they begin once every informer has synced. */
  async start(): Promise<void> {
    await Promise.all((this.opts.informers ?? []).map((i) => i.waitForSync()));
    if (this.stopped) return;
    const n = Math.max(1, this.opts.workers ?? 2);
    for (let i = 0; i < n; i++) this.running.push(this.worker());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  /** Resolves when no key is queued or being processed (tests). Delayed requeues do not count. */
  idle(): Promise<void> {
    if (this.queue.processingCount() === 0 && this.queue.len() === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
        if (this.queue.processingCount() === 0 && this.queue.len() === 0) {
          const ws = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of ws) w();
        }
      }
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const res = await this.opts.reconcile(key);
      this.queue.forget(key);
      if (isRequeueAfter(res)) {
        this.queue.addAfter(key, res.ms);
        this.opts.onResult?.(key, 'requeue');
      } else {
        this.opts.onResult?.(key, 'ok');
      }
    } catch (e) {
      if (isPermanentError(e)) {
        this.queue.forget(key);
        log.warn({ controller: this.name, key, err: errorMessage(e) }, 'reconcile failed permanently');
        this.opts.onResult?.(key, 'permanent', e);
        return;
      }
      if (this.stopped) return;
      const ms = this.queue.addRateLimited(key);
      log.debug({ controller: this.name, key, err: errorMessage(e), retryMs: ms }, 'reconcile failed, requeued');
      this.opts.onResult?.(key, 'retry', e);
    }
  }
}
