/** Fixtures and assertions shared by the store contract suite. */
import assert from 'node:assert/strict';
import type { KubeObject, WatchEvent } from '../../api/meta.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Store } from '../store.ts';

export interface ContractStoreOptions { clock?: Clock; historyLimit?: number }
export type MakeStore = (opts?: ContractStoreOptions) => Promise<{ store: Store; cleanup(): Promise<void> }>;

export const KSVC = 'serving.knative.dev/services';
export const KCFG = 'serving.knative.dev/configurations';
export const KREV = 'serving.knative.dev/revisions';
export const SECRETS = 'core/secrets';
export const NAMESPACES = 'core/namespaces';

export function ksvc(name: string, opts: { ns?: string; labels?: Record<string, string>; image?: string; owners?: KubeObject[]; finalizers?: string[] } = {}): KubeObject {
  const metadata: KubeObject['metadata'] = { name, namespace: opts.ns ?? 'default' };
  if (opts.labels) metadata.labels = opts.labels;
  if (opts.finalizers) metadata.finalizers = opts.finalizers;
  if (opts.owners) metadata.ownerReferences = opts.owners.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid!, controller: true }));
  return {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata,
    spec: { template: { spec: { containers: [{ image: opts.image ?? 'sluice/hello' }] } } },
  };
}

export function child(kind: 'Configuration' | 'Revision', name: string, owners: KubeObject[], finalizers?: string[]): KubeObject {
  const o = ksvc(name, { owners, finalizers });
  o.kind = kind;
  return o;
}

/** Asserts that `p` rejects with a SluiceError of `code` and `httpStatus`, and a message matching `msg`. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, httpStatus: number, msg?: RegExp): Promise<void> {
  await assert.rejects(async () => { await (typeof p === 'function' ? p() : p); }, (e: unknown) => {
    const err = e as { code?: string; httpStatus?: number; message: string };
    assert.equal(err.code, code, `code of: ${err.message}`);
    assert.equal(err.httpStatus, httpStatus, `httpStatus of: ${err.message}`);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

/** Same for a synchronous throw (watch registration). */
export function throwsWith(fn: () => unknown, code: string, httpStatus: number, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; httpStatus?: number; message: string };
    assert.equal(err.code, code, `code of: ${err.message}`);
    assert.equal(err.httpStatus, httpStatus);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

/** Collects watch events as `TYPE name` strings plus the raw events. */
export function collector(): { events: WatchEvent[]; lines: () => string[]; handler: (ev: WatchEvent) => void } {
  const events: WatchEvent[] = [];
  return {
    events,
    handler: (ev) => { events.push(ev); },
    lines: () => events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`),
  };
}

/** Lets queued deliveries (replay microtasks, group-commit immediates) run: a bounded number of macrotask turns. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

export const rvNum = (o: KubeObject): number => Number(o.metadata.resourceVersion);
