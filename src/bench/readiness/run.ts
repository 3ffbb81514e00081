/**
 * The readiness benchmark runner (Kperf's `service generate` + `service measure` in one):
 * creates N Knative Services at a fixed interval over K namespaces through
 * @kubernetes/client-node — so the same code runs against sluice and against any cluster that
 * serves Knative — waits for them with a watch, then reads every object and computes durations
 * from status timestamps.
 */
import os from 'node:os';
import fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../../api/meta.ts';
import { computeDurations, type ServiceDurations } from './durations.ts';
import { buildReport, type Report, type RunInfo } from './report.ts';
import { RssSampler } from './rss-sampler.ts';

export interface ReadinessOptions {
  services: number;
  intervalMs: number;
  batch: number;
  namespaces: number;
  namespacePrefix: string;
  svcPrefix: string;
  image: string;
  timeoutMs: number;
  kubeconfig?: string;
  cleanup: boolean;
  scenario?: string;
  /** Extra annotations on each revision template (e.g. scale-to-zero settings for `scale`). */
  templateAnnotations?: Record<string, string>;
  /** Processes whose RSS is sampled once a second: name → pid. */
  rssPids?: Record<string, number>;
  progress?: (done: number, ready: number, total: number) => void;
}

const SVC = { apiVersion: 'serving.knative.dev/v1', kind: 'Service' };

function serviceManifest(o: ReadinessOptions, ns: string, name: string, runId: string): KubeObject {
  return {
    ...SVC,
    metadata: { name, namespace: ns, labels: { 'sluice.dev/bench-run': runId } },
    spec: { template: { metadata: o.templateAnnotations ? { annotations: o.templateAnnotations } : undefined, spec: { containers: [{ image: o.image }] } } },
  };
}

const isReady = (o: any) => (o?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (fs.existsSync('.sluice/kubeconfig')) kc.loadFromFile('.sluice/kubeconfig');
  else kc.loadFromDefault();
  return kc;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

export async function runReadiness(o: ReadinessOptions): Promise<Report> {
  const kc = loadKubeConfig(o.kubeconfig);
  // Knative kinds go through CustomObjectsApi: KubernetesObjectApi maps kind "Service" to the
  // core v1 Service model and drops spec.template when it serializes the body.
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const kn = (namespace: string, plural: string, group = 'serving.knative.dev', version = 'v1') => ({ group, version, namespace, plural });
  const runId = `r${Date.now().toString(36)}`;
  const startedAt = new Date().toISOString();
  const nsNames = Array.from({ length: o.namespaces }, (_, i) => `${o.namespacePrefix}-${i + 1}`);
  const createdNs: string[] = [];
  for (const ns of nsNames) {
    try {
      await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
      createdNs.push(ns);
    } catch (e: any) {
      if (e?.code !== 409 && e?.response?.statusCode !== 409) throw new Error(`creating namespace ${ns}: ${e?.body?.message ?? e?.message ?? e}`);
    }
  }

  const targets = Array.from({ length: o.services }, (_, i) => ({ ns: nsNames[i % nsNames.length]!, name: `${o.svcPrefix}-${i}` }));
  const ready = new Set<string>();
  const createErrors: string[] = [];
  let created = 0;
  const rss = o.rssPids ? new RssSampler(o.rssPids, 1000) : undefined;

  // One cluster-wide watch on this run's services tracks readiness without polling.
  const watch = new k8s.Watch(kc);
  let allReady!: () => void;
  const allReadyP = new Promise<void>((r) => { allReady = r; });
  const onEvent = (_phase: string, obj: any) => {
    if (isReady(obj)) ready.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
    o.progress?.(created, ready.size, o.services);
    if (ready.size >= o.services) allReady();
  };
  let ctrl: AbortController | undefined;
  const startWatch = async () => {
    ctrl = await watch.watch('/apis/serving.knative.dev/v1/services', { labelSelector: `sluice.dev/bench-run=${runId}`, allowWatchBookmarks: true }, onEvent, (err) => {
      if (ready.size < o.services && !stopped) setTimeout(() => { void startWatch().catch(() => undefined); }, 200);
      void err;
    });
  };
  let stopped = false;
  await startWatch();

  const t0 = Date.now();
  for (let b = 0; b * o.batch < targets.length; b++) {
    const due = t0 + b * o.intervalMs;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const batch = targets.slice(b * o.batch, (b + 1) * o.batch);
    await Promise.all(batch.map(async (t) => {
      try {
        await custom.createNamespacedCustomObject({ ...kn(t.ns, 'services'), body: serviceManifest(o, t.ns, t.name, runId) });
        created++;
      } catch (e: any) {
        createErrors.push(`${t.ns}/${t.name}: ${e?.body?.message ?? e?.message ?? e}`);
      }
      o.progress?.(created, ready.size, o.services);
    }));
  }
  const deadline = Date.now() + o.timeoutMs;
  await Promise.race([allReadyP, sleep(Math.max(0, deadline - Date.now()))]);
  stopped = true;
  ctrl?.abort();
  rss?.stop();

  // Read every object once the run is over; timestamps are server-side, so reading late is fine.
  const results: ServiceDurations[] = await mapLimit(targets, 16, async (t) => {
    const get = async (plural: string, name: string | undefined, group?: string, version?: string) => {
      if (!name) return undefined;
      try { return (await custom.getNamespacedCustomObject({ ...kn(t.ns, plural, group, version), name })) as KubeObject; } catch { return undefined; }
    };
    const service = await get('services', t.name);
    if (!service) return { namespace: t.ns, name: t.name, ready: false, durations: {}, outOfOrder: [], notReadyConditions: [{ type: 'Created', status: 'False', message: createErrors.find((e) => e.startsWith(`${t.ns}/${t.name}:`)) ?? 'not found' }] } as ServiceDurations;
    const st = (service.status ?? {}) as { latestReadyRevisionName?: string; latestCreatedRevisionName?: string };
    const revName = st.latestReadyRevisionName ?? st.latestCreatedRevisionName;
    const [configuration, revision, route, ingress] = await Promise.all([
      get('configurations', t.name),
      get('revisions', revName),
      get('routes', t.name),
      get('ingresses', t.name, 'networking.internal.knative.dev', 'v1alpha1'),
    ]);
    let pods: KubeObject[] | undefined;
    if (revName) {
      try { pods = (await core.listNamespacedPod({ namespace: t.ns, labelSelector: `serving.knative.dev/revision=${revName}` })).items as unknown as KubeObject[]; } catch { pods = undefined; }
    }
    return computeDurations({ service, configuration, revision, route, ingress, pods });
  });

  const run: RunInfo = {
    scenario: o.scenario,
    target: kc.getCurrentCluster()?.server ?? 'unknown',
    services: o.services, intervalMs: o.intervalMs, batch: o.batch, namespaces: o.namespaces, image: o.image,
    startedAt, finishedAt: new Date().toISOString(),
    machine: { cores: os.cpus().length, memoryMb: Math.round(os.totalmem() / 2 ** 20), platform: `${os.platform()} ${os.release()}`, node: process.version },
    rss: rss?.samples(),
  };
  const report = buildReport(run, results);

  if (o.cleanup) {
    await mapLimit(targets, 16, async (t) => { try { await custom.deleteNamespacedCustomObject({ ...kn(t.ns, 'services'), name: t.name }); } catch { /* already gone */ } });
    for (const ns of createdNs) { try { await core.deleteNamespace({ name: ns }); } catch { /* ignore */ } }
  }
  return report;
}
