/**
 * Base error with a stable code (`SLUICE_E_*`) and an optional cause.
 * Every code used anywhere in sluice is listed in docs/errors.md; a test checks that list.
 */
export class SluiceError extends Error {
  readonly code: string;
  /** HTTP status that best matches this error when it crosses the API boundary. */
  readonly httpStatus: number;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, opts: { cause?: unknown; httpStatus?: number; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.httpStatus = opts.httpStatus ?? 500;
    this.details = opts.details;
  }
}

export function isSluiceError(e: unknown, code?: string): e is SluiceError {
  return e instanceof SluiceError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
