/**
 * Writes each revision's activator mode (activator-mode.ts) onto its Endpoints as the
 * `sluice.dev/activator-mode` annotation, where the control plane's translation reads it: proxy
 * puts the activator's address in the revision's load assignment instead of the pods'.
 * Knative's SKS reconciler, reduced to one annotation on the object the translation already
 * watches (so a mode change is an endpoint-only xDS push).
 *
 * Level-triggered: a key is reconciled when its mode changes and whenever its Endpoints change
 * (the revision reconciler re-creates or rewrites them); a write is made only when the
 * annotation differs. The revision reconciler's writes merge annotations they do not own, so
 * the two writers never undo each other; a conflict between them is retried with backoff.
 * No opinion (the autoscaler has not decided yet, or does not scale the revision) leaves the
 * annotation as it is: after a restart the mode from the previous run stands until the first
 * decision.
 */
import type { Endpoints } from '../api/types/core.ts';
import { Controller } from '../controller/controller.ts';
import type { InformerHandle } from '../controller/informer.ts';
import type { Clock } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { R } from '../reconcilers/shared/resources.ts';
import type { Store } from '../store/store.ts';
import { StoreErrors } from '../store/store.ts';
import { ACTIVATOR_MODE_ANNOTATION, type ActivatorMode } from './activator-mode.ts';

export interface ActivatorModePublisherOptions {
  store: Store;
  endpoints: InformerHandle<Endpoints>;
  /** The wanted mode of revision `namespace/name`; undefined = no opinion. */
  mode: (revisionKey: string) => ActivatorMode | undefined;
  clock: Clock;
  /** Called after each write (tests, metrics). */
  onWritten?: (revisionKey: string, mode: ActivatorMode) => void;
}

export class ActivatorModePublisher {
  readonly controller: Controller;

  constructor(private readonly o: ActivatorModePublisherOptions) {
    this.controller = new Controller({
      name: 'activator-mode', clock: o.clock, informers: [o.endpoints], workers: 1, retryBaseMs: 10, retryMaxMs: 2000,
      reconcile: (key) => this.reconcile(key),
    });
    const onEndpoints = (ep: Endpoints): void => {
      const key = `${ep.metadata.namespace ?? ''}/${ep.metadata.name ?? ''}`;
      const want = o.mode(key);
      if (want && ep.metadata.annotations?.[ACTIVATOR_MODE_ANNOTATION] !== want) this.controller.enqueue(key);
    };
    o.endpoints.addHandler({ add: onEndpoints, update: (_old, ep) => onEndpoints(ep) });
  }

  /** The revision's mode may have changed. */
  changed(revisionKey: string): void { this.controller.enqueue(revisionKey); }

  start(): Promise<void> { return this.controller.start(); }
  stop(): Promise<void> { return this.controller.stop(); }

  async reconcile(key: string): Promise<void> {
    const want = this.o.mode(key);
    if (!want) return;
    const slash = key.indexOf('/');
    const ep = this.o.endpoints.lister.get(key.slice(0, slash), key.slice(slash + 1));
    // No Endpoints yet: the revision reconciler creates them, and their add event brings us back.
    if (!ep || ep.metadata.deletionTimestamp) return;
    if (ep.metadata.annotations?.[ACTIVATOR_MODE_ANNOTATION] === want) return;
    try {
      // resourceVersion from the cache: a newer write by the revision reconciler is a conflict, retried.
      await this.o.store.update(R.endpoints, { ...ep, metadata: { ...ep.metadata, annotations: { ...ep.metadata.annotations, [ACTIVATOR_MODE_ANNOTATION]: want } } });
    } catch (e) {
      if (isSluiceError(e, StoreErrors.NotFound)) return; // deleted meanwhile: the next add event re-runs this
      throw e;
    }
    log.debug({ revision: key, mode: want }, 'autoscaler: activator mode published');
    this.o.onWritten?.(key, want);
  }
}
