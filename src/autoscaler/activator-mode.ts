/**
 * Knative's ServerlessService operation mode, decided per revision by the autoscaler and carried
 * to the control plane on the revision's Endpoints as one annotation:
 *
 *   sluice.dev/activator-mode: proxy   the activator is in the request path: the proxies send
 *                                      the revision's traffic to the activator, which buffers it
 *                                      and load-balances across the ready pods itself
 *                                      (respecting containerConcurrency);
 *   sluice.dev/activator-mode: serve   the proxies send traffic to the pods directly
 *                                      (the activator still takes it while no pod is ready).
 *   (absent)                           as serve: the autoscaler has no opinion (not watched yet,
 *                                      reserve revision, or the activator is not running).
 *
 * The rule (Knative's KPA reconciler): proxy when the revision is scaled to zero or inactive,
 * has no ready pod, or its excess burst capacity is negative, where
 *
 *   excess burst capacity = floor(readyPods × totalValue − targetBurstCapacity − observedPanic)
 *
 * totalValue is one pod's full capacity (containerConcurrency, else the target before the
 * utilization factor), observedPanic the panic-window average of the metric (all requests: the
 * pods' queue-proxies plus what waits in the activator). target-burst-capacity −1 keeps the
 * activator in the path always (EBC −1), 0 only at zero (EBC 0). Pure: no clock, no I/O.
 */

export const ACTIVATOR_MODE_ANNOTATION = 'sluice.dev/activator-mode';
export type ActivatorMode = 'proxy' | 'serve';

export interface BurstSpec {
  /** −1 = activator always in path, 0 = only at zero, > 0 = spare capacity to keep. */
  targetBurstCapacity: number;
  /** One pod's full capacity in the metric's unit. */
  totalValue: number;
}

/** Knative's excess burst capacity (autoscaler.Scale): negative means "not enough headroom". */
export function excessBurstCapacity(spec: BurstSpec, readyPods: number, observedPanic: number): number {
  if (spec.targetBurstCapacity === 0) return 0;
  if (spec.targetBurstCapacity < 0) return -1;
  return Math.floor(Math.max(0, readyPods) * spec.totalValue - spec.targetBurstCapacity - observedPanic);
}

export interface ModeInput {
  readyPods: number;
  desiredScale: number;
  /** The revision was marked inactive (idle for a stable window): the activator takes over before the last pod goes. */
  inactive: boolean;
  excessBurstCapacity: number;
}

/** Proxy (activator in path) or serve (pods direct), Knative's KPA rule. */
export function activatorMode(i: ModeInput): ActivatorMode {
  return i.readyPods <= 0 || i.desiredScale === 0 || i.inactive || i.excessBurstCapacity < 0 ? 'proxy' : 'serve';
}

/** The mode an Endpoints object asks for; anything but `proxy` is serve. */
export function endpointsActivatorMode(annotations: Readonly<Record<string, string>> | undefined): ActivatorMode {
  return annotations?.[ACTIVATOR_MODE_ANNOTATION] === 'proxy' ? 'proxy' : 'serve';
}
