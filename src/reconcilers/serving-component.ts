/**
 * The serving component `sluice up` starts: shared informers for the serving kinds, the
 * Service, Configuration, Revision, Route and DomainMapping controllers, the event recorder, and the
 * runtime that runs pods. Start order: runtime (kills leftovers of an earlier run and deletes
 * their Pod objects) → informers → controllers; stop order is the reverse, and stopping drains
 * every pod so no process outlives `sluice up`.
 *
 *   import { createServingComponent } from '../reconcilers/serving-component.ts';
 *   components.push(createServingComponent({ ingressReadiness: 'controlplane' }));
 */
import type { Store } from '../store/store.ts';
import type { Clock } from '../lib/clock.ts';
import { realClock } from '../lib/clock.ts';
import type { InformerHandle } from '../controller/informer.ts';
import { SharedInformers, type InformerScope } from '../controller/shared-informers.ts';
import { EventRecorder } from '../controller/event-recorder.ts';
import type { Controller } from '../controller/controller.ts';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.ts';
import { ImageTable } from '../runtime/image-table.ts';
import type { Revision } from '../api/types/knative.ts';
import type { Listers, NetworkSettings, ReconcilerContext } from './shared/context.ts';
import { R } from './shared/resources.ts';
import { newServiceController } from './service/controller.ts';
import { newConfigurationController } from './configuration/controller.ts';
import { newRevisionController } from './revision/controller.ts';
import { newRouteController } from './route/controller.ts';
import { newDomainMappingController } from './domainmapping/controller.ts';
import { DOMAIN_MAPPINGS } from './domainmapping/reconciler.ts';
import type { ScaleSource } from './revision/scale-source.ts';

export interface ServingContext {
  store: Store;
  stateDir: string;
  clock?: Clock;
  config?: { domain?: string; images?: Record<string, unknown>; file?: string };
  /** The control process's shared informers; without them the component watches on its own. */
  informers?: SharedInformers;
}

export interface ServingOptions {
  /** Default 'controlplane'; 'immediate' when no gateway runs (tests, `sluice up` without proxies). */
  ingressReadiness?: NetworkSettings['ingressReadiness'];
  /** Overrides config.domain (default `sluice.localhost`). */
  domain?: string;
  /** Overrides config.images. */
  images?: Record<string, unknown>;
  /** Desired scale per revision (the autoscaler); default: initial-scale. */
  scaleSource?: ScaleSource;
  /** Runtime knobs (probe interval, restart backoff, extra env for the mesh, ...). */
  runtime?: Partial<Omit<RuntimeOptions, 'store' | 'stateDir' | 'clock' | 'images'>>;
  workers?: number;
}

/** Delegates to a replaceable source so the autoscaler can plug in after start. */
class SwitchableScaleSource implements ScaleSource {
  private listeners = new Set<(k: string) => void>();
  private unsub: (() => void) | undefined;
  constructor(private src: ScaleSource | undefined) { this.hook(); }
  private hook(): void {
    this.unsub?.();
    this.unsub = this.src?.subscribe?.((k) => { for (const l of this.listeners) l(k); });
  }
  set(src: ScaleSource | undefined): void { this.src = src; this.hook(); }
  desiredScale(key: string, rev: Revision): number | undefined { return this.src?.desiredScale(key, rev); }
  subscribe(fn: (k: string) => void): () => void { this.listeners.add(fn); return () => this.listeners.delete(fn); }
}

export class ServingComponent {
  readonly name = 'serving';
  runtime: Runtime | undefined;
  private scope: InformerScope | undefined;
  /** Informers of its own when started without shared ones (tests). */
  private ownInformers: SharedInformers | undefined;
  private controllers: Controller[] = [];
  private cleanups: (() => void)[] = [];
  private revisionInformer: InformerHandle<any> | undefined;
  private revisionController: Controller | undefined;
  private readonly scale: SwitchableScaleSource;

  constructor(private readonly opts: ServingOptions = {}) {
    this.scale = new SwitchableScaleSource(opts.scaleSource);
  }

  async start(ctx: ServingContext): Promise<Record<string, string> | void> {
    const clock = ctx.clock ?? realClock;
    const store = ctx.store;
    const images = new ImageTable(this.opts.images ?? ctx.config?.images ?? {}, `${ctx.config?.file ?? 'config'}: images`);
    this.runtime = new Runtime({ ...this.opts.runtime, store, stateDir: ctx.stateDir, clock, images });
    await this.runtime.start();

    if (!ctx.informers) this.ownInformers = new SharedInformers({ store, clock });
    const scope = (ctx.informers ?? this.ownInformers!).scope();
    this.scope = scope;
    const inf = (resource: string): InformerHandle<any> => scope.get(resource);
    const informers = {
      services: inf(R.services), configurations: inf(R.configurations), revisions: inf(R.revisions), routes: inf(R.routes),
      ingresses: inf(R.ingresses), pods: inf(R.pods), endpoints: inf(R.endpoints),
    };
    this.revisionInformer = informers.revisions;
    const listers = Object.fromEntries(Object.entries(informers).map(([k, v]) => [k, v.lister])) as unknown as Listers;
    const rctx: ReconcilerContext = {
      store, clock, listers,
      recorder: new EventRecorder({ store, clock, component: 'sluice-serving' }),
      network: { domain: this.opts.domain ?? ctx.config?.domain ?? 'sluice.localhost', ingressReadiness: this.opts.ingressReadiness ?? 'controlplane' },
    };
    const w = this.opts.workers;
    const rev = newRevisionController(rctx, informers, this.runtime, this.scale, w ?? 4);
    this.revisionController = rev.controller;
    this.cleanups.push(rev.unsubscribe);
    this.controllers = [
      newServiceController(rctx, informers, w ?? 2),
      newConfigurationController(rctx, informers, w ?? 2),
      rev.controller,
      newRouteController(rctx, informers, w ?? 2),
      newDomainMappingController(rctx, { domainMappings: inf(DOMAIN_MAPPINGS), ingresses: informers.ingresses, services: informers.services, routes: informers.routes }, w ?? 2),
    ];
    await scope.start();
    await Promise.all(this.controllers.map((c) => c.start()));
  }

  /** Plugs in (or replaces) the autoscaler's scale source and re-reconciles every revision. */
  setScaleSource(src: ScaleSource | undefined): void {
    this.scale.set(src);
    for (const r of this.revisionInformer?.lister.list() ?? []) this.revisionController?.enqueue(`${r.metadata.namespace}/${r.metadata.name}`);
  }

  /** Resolves when no controller has queued or running work (tests). */
  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) await Promise.all(this.controllers.map((c) => c.idle()));
  }

  async stop(): Promise<void> {
    for (const c of this.cleanups) c();
    await Promise.all(this.controllers.map((c) => c.stop()));
    this.scope?.stop();
    this.ownInformers?.stop();
    await this.runtime?.stop();
    this.controllers = [];
    this.scope = undefined;
    this.ownInformers = undefined;
  }
}

export function createServingComponent(opts: ServingOptions = {}): ServingComponent {
  return new ServingComponent(opts);
}
