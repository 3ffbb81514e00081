/**
 * Typed reconcile outcomes. A reconciler returns nothing (done), `requeueAfter(ms)` (look again
 * later, not an error), or throws/returns a `permanentError` (do not retry until the object
 * changes). Any other thrown error is transient: the key is requeued with per-key backoff.
 */
import { SluiceError, isSluiceError } from '../lib/errors.ts';

export const ControllerErrors = {
  Permanent: 'SLUICE_E_RECONCILE_PERMANENT',
  QueueDoneUnknown: 'SLUICE_E_QUEUE_DONE_UNKNOWN',
} as const;

export interface RequeueAfter { readonly kind: 'requeue-after'; readonly ms: number }
export type ReconcileResult = void | undefined | RequeueAfter;

export function requeueAfter(ms: number): RequeueAfter {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`requeueAfter: delay must be a finite number of ms >= 0, got ${ms}`);
  return { kind: 'requeue-after', ms };
}
export function isRequeueAfter(r: unknown): r is RequeueAfter {
  return typeof r === 'object' && r !== null && (r as RequeueAfter).kind === 'requeue-after';
}

/** An error retrying cannot fix (bad spec, missing image): logged and recorded, not requeued. */
export class PermanentError extends SluiceError {
  constructor(message: string, opts: { cause?: unknown; reason?: string } = {}) {
    super(ControllerErrors.Permanent, message, { cause: opts.cause, httpStatus: 422, details: opts.reason ? { reason: opts.reason } : undefined });
    this.name = 'PermanentError';
  }
}
export function permanentError(message: string, opts: { cause?: unknown; reason?: string } = {}): PermanentError {
  return new PermanentError(message, opts);
}
export function isPermanentError(e: unknown): e is PermanentError {
  return e instanceof PermanentError || isSluiceError(e, ControllerErrors.Permanent);
}
