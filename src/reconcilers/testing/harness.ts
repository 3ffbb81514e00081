/** Test harness for reconcilers: MemoryStore + FakeClock + synced informers/listers + a context. */
import { MemoryStore } from '../../store/memory-store.ts';
import { FakeClock } from '../../lib/clock.ts';
import { Informer } from '../../controller/informer.ts';
import { EventRecorder } from '../../controller/event-recorder.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { Listers, ReconcilerContext, NetworkSettings } from '../shared/context.ts';
import { R } from '../shared/resources.ts';

export interface Harness {
  store: MemoryStore;
  clock: FakeClock;
  ctx: ReconcilerContext;
  get<T extends KubeObject = KubeObject>(resource: string, name: string, ns?: string): Promise<T | undefined>;
  create<T extends KubeObject>(resource: string, obj: T): Promise<T>;
  /** Writes `status` through the status subresource (what another controller would do). */
  setStatus(resource: string, name: string, status: unknown, ns?: string): Promise<KubeObject>;
  events(): Promise<{ reason?: string; type?: string; message?: string }[]>;
  close(): Promise<void>;
}

export async function newHarness(network: Partial<NetworkSettings> = {}): Promise<Harness> {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const informers = Object.fromEntries(
    (['services', 'configurations', 'revisions', 'routes', 'ingresses', 'pods', 'endpoints'] as const).map((k) => [k, new Informer<any>({ store, resource: R[k], clock })]),
  ) as Record<keyof Listers, Informer<any>>;
  await Promise.all(Object.values(informers).map((i) => i.start()));
  const listers = Object.fromEntries(Object.entries(informers).map(([k, v]) => [k, v.lister])) as unknown as Listers;
  const recorder = new EventRecorder({ store, clock, component: 'test', delayMs: 0 });
  const ctx: ReconcilerContext = { store, clock, recorder, listers, network: { domain: 'example.test', ingressReadiness: 'immediate', ...network } };
  return {
    store, clock, ctx,
    get: async (resource, name, ns = 'default') => (await store.get(resource, ns, name)) as any,
    create: async (resource, obj) => (await store.create(resource, { ...obj, metadata: { namespace: 'default', ...obj.metadata } })) as any,
    setStatus: async (resource, name, status, ns = 'default') => {
      const cur = (await store.get(resource, ns, name))!;
      return store.update(resource, { ...cur, status }, { subresource: 'status' });
    },
    events: async () => { await recorder.flush(); return (await store.list(R.events, {})).items as any; },
    close: async () => { for (const i of Object.values(informers)) i.stop(); await store.close(); },
  };
}

export const T0 = '2026-01-01T00:00:00.000Z';
