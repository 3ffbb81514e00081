/**
 * One informer per resource for the whole control process, like client-go's
 * SharedInformerFactory. The serving controllers, the autoscaler and the xDS control plane all
 * watch Revisions, Routes, Configurations, Endpoints, Ingresses and Pods; with an informer each,
 * every watch event was decoded and cached once per component (Endpoints three times), so the
 * control process held two or three copies of those objects. Shared, each event is decoded and
 * cached once, and every component's handlers see the same object — which, as within any one
 * component already, nobody mutates.
 *
 * A component takes a scope: `scope.get(resource)` is its view of the shared informer. A view's
 * start() starts the shared informer if nobody has yet and resolves once it has synced; its
 * stop(), and the scope's, remove only the handlers added through it (a component can stop and
 * start again while the others keep watching). The informers themselves stop with stop(), which
 * the control process calls after every component stopped.
 */
import type { KubeObject } from '../api/meta.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from '../lib/clock.ts';
import { Informer, type InformerHandle, type InformerHandlers } from './informer.ts';
import type { Lister } from './lister.ts';

export class SharedInformers {
  private readonly informers = new Map<string, Informer<any>>();

  constructor(private readonly opts: { store: Store; clock: Clock }) {}

  /** A component's views of the shared informers. */
  scope(): InformerScope {
    return new InformerScope(this);
  }

  /** The shared informer of a resource (made on first use, started by the first view's start()). */
  informer<T extends KubeObject>(resource: string): Informer<T> {
    let i = this.informers.get(resource);
    if (!i) this.informers.set(resource, (i = new Informer<any>({ store: this.opts.store, resource, clock: this.opts.clock })));
    return i as Informer<T>;
  }

  /** Resources with an informer, for tests and diagnostics. */
  resources(): string[] {
    return [...this.informers.keys()];
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
    this.informers.clear();
  }
}

export class InformerScope {
  private readonly views: InformerView<any>[] = [];

  constructor(private readonly shared: SharedInformers) {}

  get<T extends KubeObject = any>(resource: string): InformerHandle<T> {
    const v = new InformerView<T>(this.shared.informer<T>(resource));
    this.views.push(v);
    return v;
  }

  /** Starts every informer viewed so far and resolves once all have synced. */
  async start(): Promise<void> {
    await Promise.all(this.views.map((v) => v.start()));
  }

  /** Removes every handler added through this scope's views. */
  stop(): void {
    for (const v of this.views.splice(0)) v.stop();
  }
}

class InformerView<T extends KubeObject> implements InformerHandle<T> {
  private added: InformerHandlers<T>[] = [];

  constructor(private readonly inner: Informer<T>) {}

  get resource(): string { return this.inner.resource; }
  get lister(): Lister<T> { return this.inner.lister; }

  addHandler(h: InformerHandlers<T>): void {
    this.added.push(h);
    this.inner.addHandler(h);
  }

  hasSynced(): boolean { return this.inner.hasSynced(); }
  waitForSync(): Promise<void> { return this.inner.waitForSync(); }

  async start(): Promise<void> {
    await this.inner.start(); // a no-op when another view started it
    await this.inner.waitForSync();
  }

  stop(): void {
    for (const h of this.added.splice(0)) this.inner.removeHandler(h);
  }
}
