/**
 * Prometheus metrics of the autoscaler and the activator, served at /metrics/autoscaler. Named
 * as Knative's autoscaler and activator name them where the meaning is the same, with Knative's
 * labels (namespace_name, revision_name):
 *   autoscaler_desired_pods                 gauge    last decision's desired scale
 *   autoscaler_excess_burst_capacity        gauge    last KPA decision's excess burst capacity
 *   autoscaler_panic_mode                   gauge    1 while the KPA panics
 *   autoscaler_stable_request_concurrency   gauge    observed stable-window average (KPA metric)
 *   autoscaler_panic_request_concurrency    gauge    observed panic-window average (KPA metric)
 *   sluice_activator_in_path                gauge    1 = proxy mode (activator in the path), 0 = serve
 *   activator_request_count                 counter  requests the activator sent on to a pod
 *   sluice_activator_buffered_total         counter  requests that waited in the activator for a pod
 *   sluice_activator_timeouts_total         counter  requests answered 504 (no pod in time)
 *   sluice_activator_rejected_total         counter  requests answered 503 (activator queue full)
 * Values are read at scrape time from the scale source and the activator (a registry per
 * component, not prom-client's global one).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Activator } from '../activator/activator.ts';
import type { AutoscalerScaleSource } from './autoscaler-scale-source.ts';

const LABELS = ['namespace_name', 'revision_name'] as const;
type L = { namespace_name: string; revision_name: string };

function labels(key: string): L {
  const i = key.indexOf('/');
  return { namespace_name: key.slice(0, i), revision_name: key.slice(i + 1) };
}

export function autoscalingMetrics(o: { scaleSource: AutoscalerScaleSource; activator?: Activator }): Registry {
  const registers = [new Registry()];
  const src = o.scaleSource;
  const decisionGauge = (name: string, help: string, value: (key: string) => number | undefined): void => {
    new Gauge({
      name, help, labelNames: LABELS, registers,
      collect() {
        this.reset();
        for (const key of src.decisions.keys()) {
          const v = value(key);
          if (v !== undefined && Number.isFinite(v)) this.set(labels(key), v);
        }
      },
    });
  };
  const kpa = (key: string) => { const d = src.decisions.get(key); return d?.kind === 'kpa' ? d : undefined; };
  decisionGauge('autoscaler_desired_pods', 'Desired pods of the revision (last autoscaler decision).', (k) => src.decisions.get(k)?.desiredScale);
  decisionGauge('autoscaler_excess_burst_capacity', 'Excess burst capacity: ready pods × per-pod capacity − target burst capacity − panic-window concurrency.', (k) => kpa(k)?.excessBurstCapacity);
  decisionGauge('autoscaler_panic_mode', '1 while the KPA is in panic mode.', (k) => { const d = kpa(k); return d ? Number(d.panicking) : undefined; });
  decisionGauge('autoscaler_stable_request_concurrency', 'Observed stable-window average of the scaling metric.', (k) => kpa(k)?.observedStable);
  decisionGauge('autoscaler_panic_request_concurrency', 'Observed panic-window average of the scaling metric.', (k) => kpa(k)?.observedPanic);
  decisionGauge('sluice_activator_in_path', '1 = proxy mode (the activator is in the request path), 0 = serve mode (pods direct).', (k) => { const m = src.activatorMode(k); return m === undefined ? undefined : Number(m === 'proxy'); });

  const act = o.activator;
  const counter = (name: string, help: string, field: 'forwarded' | 'buffered' | 'timedOut' | 'rejected'): void => {
    new Counter({
      name, help, labelNames: LABELS, registers,
      collect() {
        this.reset();
        for (const [key, c] of act?.revisionCounts ?? []) if (c[field] > 0) this.inc(labels(key), c[field]);
      },
    });
  };
  counter('activator_request_count', 'Requests the activator sent on to a pod of the revision.', 'forwarded');
  counter('sluice_activator_buffered_total', 'Requests that waited in the activator for a pod with room.', 'buffered');
  counter('sluice_activator_timeouts_total', 'Requests the activator answered 504 because no pod was ready in time.', 'timedOut');
  counter('sluice_activator_rejected_total', 'Requests the activator answered 503 because its queue for the revision was full.', 'rejected');
  return registers[0]!;
}
