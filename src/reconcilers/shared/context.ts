/** What every serving reconciler gets: the store, time, events, shared listers and settings. */
import type { Store } from '../../store/store.ts';
import type { Clock } from '../../lib/clock.ts';
import type { EventRecorder } from '../../controller/event-recorder.ts';
import type { Lister } from '../../controller/lister.ts';
import type { KService, Configuration, Revision, Route } from '../../api/types/knative.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import type { Pod, Endpoints } from '../../api/types/core.ts';

export interface Listers {
  services: Lister<KService>;
  configurations: Lister<Configuration>;
  revisions: Lister<Revision>;
  routes: Lister<Route>;
  ingresses: Lister<KIngress>;
  pods: Lister<Pod>;
  endpoints: Lister<Endpoints>;
}

export interface NetworkSettings {
  /** Domain of external URLs (`http://NAME.NS.DOMAIN`), default `sluice.localhost`. */
  domain: string;
  /**
   * Who marks Ingress status Ready: 'controlplane' (the xDS control plane, from gateway ACKs) or
   * 'immediate' (the Route reconciler itself, as soon as the Ingress is written; the fallback
   * when no gateway is configured, and for tests).
   */
  ingressReadiness: 'controlplane' | 'immediate';
}

export interface ReconcilerContext {
  store: Store;
  clock: Clock;
  recorder: EventRecorder;
  listers: Listers;
  network: NetworkSettings;
}
