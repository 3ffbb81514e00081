import { SluiceError } from '../../lib/errors.ts';
import { ProxyErrors } from '../proxy-errors.ts';

/**
 * A resource that failed validation. The message names the resource and the field path and becomes
 * the NACK's error_detail, so an operator reading the control plane's logs knows what to fix.
 */
export class InvalidResource extends SluiceError {
  constructor(kind: string, name: string, field: string, problem: string) {
    super(ProxyErrors.CONFIG, `${kind} ${JSON.stringify(name)}: ${field}: ${problem}`, { httpStatus: 400, details: { kind, name, field } });
  }
}

/** Field-path tracking helper used by every translator. */
export class FieldCtx {
  constructor(readonly kind: string, readonly name: string) {}
  fail(field: string, problem: string): never {
    throw new InvalidResource(this.kind, this.name, field, problem);
  }
}

export type Obj = Record<string, any>;

/** `{ value }` wrapper (UInt32Value, BoolValue…) or undefined. */
export function wrapped<T>(v: { value?: T } | undefined, dflt: T): T {
  return v === undefined || v === null || v.value === undefined ? dflt : v.value;
}
