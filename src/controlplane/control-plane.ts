/**
 * The control plane: watches the resources the translation reads (Knative Ingresses, Endpoints,
 * Pods, Secrets, Istio networking and security kinds), keeps the MeshState, runs the push pipeline
 * behind the ADS server, and writes readiness, NACKs and translation problems back to statuses.
 *
 *   store ──watch──▶ MeshTranslator (MeshState) ──▶ PushPipeline (debounce, scopes, queue)
 *                                                     ▲            │
 *                                    ACK/NACK ─ AdsServer ◀─────────┘ pushes
 *                                                     │
 *                              StatusReporter ◀───────┘ applied generations → Ingress Ready
 *
 * A change to an object is carried by the next flushed generation; the object is ready once
 * every proxy that must carry it applied that generation (readiness from ACKs, no probing).
 * Status-only updates (including the control plane's own writes) do not trigger pushes.
 */
import type { KubeObject } from '../api/meta.ts';
import { PodAnnotations } from './translate/types.ts';
import { realClock, type Clock, type Timer } from '../lib/clock.ts';
import { log } from '../lib/log.ts';
import type { Store } from '../store/store.ts';
import { cacheKey, type InformerHandle } from '../controller/informer.ts';
import { SharedInformers } from '../controller/shared-informers.ts';
import type { Lister } from '../controller/lister.ts';
import { AdsServer, DEFAULT_ACK_TIMEOUT_MS } from './xds/ads-server.ts';
import { PushPipeline } from './pipeline/push-pipeline.ts';
import { XdsMetrics } from './pipeline/xds-metrics.ts';
import { MeshTranslator, type MeshTranslatorOptions } from './mesh-translator.ts';
import { StatusReporter } from './status/status-reporter.ts';
import { reportedReady } from './status/object-status.ts';
import type { Registry } from 'prom-client';

/** Resource ids the control plane watches (registry ids). */
export const WATCHED_RESOURCES = [
  'networking.internal.knative.dev/ingresses',
  'core/endpoints',
  'core/pods',
  'core/secrets',
  'networking.istio.io/virtualservices',
  'networking.istio.io/destinationrules',
  'networking.istio.io/gateways',
  'networking.istio.io/sidecars',
  'security.istio.io/peerauthentications',
  'security.istio.io/authorizationpolicies',
] as const;

/** Kinds whose `status` is written through the status subresource and whose spec bumps generation. */
const GENERATION_KINDS = new Set<string>(WATCHED_RESOURCES.filter((r) => r !== 'core/endpoints' && r !== 'core/pods' && r !== 'core/secrets'));

export interface ControlPlaneOptions {
  store: Store;
  clock?: Clock;
  /** The control process's shared informers; without them the control plane watches on its own. */
  informers?: SharedInformers;
  host?: string;
  port?: number;
  debounceAfterMs?: number;
  debounceMaxMs?: number;
  debounceLeading?: boolean;
  debounceThrottle?: boolean;
  maxConcurrentPushes?: number;
  /** Flow control: wait this long for an ACK before sending the next response of a type. */
  ackTimeoutMs?: number;
  gatewayPorts?: { http: number; https: number };
  /** Name written into Ingress status load balancers. */
  loadBalancerDomain?: string;
  translate?: MeshTranslatorOptions;
  /** Observers for benchmarks and diagnostics. */
  observe?: { onFlush?(generation: number, at: number): void; onConverged?(generation: number, tookMs: number): void };
}

export interface ControlPlane {
  start(): Promise<{ xdsAddress: string }>;
  stop(): Promise<void>;
  /** Prometheus registry with the pilot_* metrics (mount at /metrics). */
  readonly metrics: Registry;
  readonly pipeline: PushPipeline;
  readonly translator: MeshTranslator;
  readonly status: StatusReporter;
  /** The ADS server (connections, address); available after start. */
  readonly server: AdsServer;
}

const PROBLEM_PASS_DELAY_MS = 250;
const PROBLEM_PASS_RECHECK_MS = 50;
const PROBLEM_PASS_MAX_WAIT_MS = 5_000;

function sameJson(a: unknown, b: unknown): boolean { return JSON.stringify(a) === JSON.stringify(b); }

/** True when nothing the translation reads changed (status writes, resourceVersion bumps). */
export function isStatusOnlyUpdate(resource: string, oldObj: KubeObject, newObj: KubeObject): boolean {
  if (!GENERATION_KINDS.has(resource)) return false;
  const a = oldObj.metadata, b = newObj.metadata;
  return a.generation === b.generation && a.deletionTimestamp === b.deletionTimestamp &&
    sameJson(a.labels, b.labels) && sameJson(a.annotations, b.annotations) && sameJson(oldObj.spec, newObj.spec);
}

const MESH_POD_ANNOTATIONS = [PodAnnotations.inboundPort, PodAnnotations.egressPort];
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

/**
 * How a Pod event reaches the push pipeline. The runtime writes a pod's status many times while it
 * starts (phase, conditions, container states), and translation reads none of that: it reads the
 * pod's labels (subsets, locality), annotations (weight, mesh ports), spec (service account,
 * ports), deletion and whether its phase is terminal. Anything else is `ignore`. Without mesh
 * proxies in play (no mesh security, no mesh-port annotations on either version), a pod feeds
 * only ClusterLoadAssignments, so the change is endpoint-only: listeners, routes and clusters of
 * every scope are reused instead of retranslated at each of the thousand pods a benchmark starts.
 */
export function classifyPodChange(oldPod: KubeObject | undefined, newPod: KubeObject, meshSecurity: boolean): 'ignore' | 'endpoints' | 'full' {
  if (oldPod) {
    const a = oldPod.metadata, b = newPod.metadata;
    const phase = (o: KubeObject) => TERMINAL_PHASES.has(String((o.status as { phase?: string } | undefined)?.phase ?? ''));
    if (a.deletionTimestamp === b.deletionTimestamp && phase(oldPod) === phase(newPod) && sameJson(a.labels, b.labels) &&
      sameJson(a.annotations, b.annotations) && sameJson(oldPod.spec, newPod.spec)) return 'ignore';
  }
  const meshPod = (o: KubeObject | undefined) => MESH_POD_ANNOTATIONS.some((k) => o?.metadata.annotations?.[k] !== undefined);
  return meshSecurity || meshPod(oldPod) || meshPod(newPod) ? 'full' : 'endpoints';
}

export function createControlPlane(opts: ControlPlaneOptions): ControlPlane {
  const clock = opts.clock ?? realClock;
  const metrics = new XdsMetrics();
  const translator = new MeshTranslator({ ...(opts.translate ?? {}), gatewayPorts: opts.gatewayPorts ?? opts.translate?.gatewayPorts, now: () => clock.now() });
  const ownInformers = opts.informers ? undefined : new SharedInformers({ store: opts.store, clock });
  const scope = (opts.informers ?? ownInformers!).scope();
  const informers = new Map<string, InformerHandle>();
  const listers = new Map<string, Lister>();
  for (const resource of WATCHED_RESOURCES) {
    const inf = scope.get(resource);
    informers.set(resource, inf);
    listers.set(resource, inf.lister);
  }
  let server: AdsServer;
  // eslint-disable-next-line prefer-const
  let status: StatusReporter;
  const pipeline = new PushPipeline({
    clock, translator, metrics,
    debounceAfterMs: opts.debounceAfterMs,
    debounceMaxMs: opts.debounceMaxMs,
    debounceLeading: opts.debounceLeading,
    debounceThrottle: opts.debounceThrottle,
    maxConcurrentPushes: opts.maxConcurrentPushes,
    events: {
      onApplied: (conn) => status.proxiesChanged(conn),
      onNack: (conn) => status.proxiesChanged(conn),
      onConnect: (conn) => status.proxiesChanged(conn),
      onDisconnect: (conn) => {
        if (!pipeline.connections().some((c) => translator.scopeKey(c.proxy, c.explicitListenerNames() ?? []) === translator.scopeKey(conn.proxy, conn.explicitListenerNames() ?? []))) {
          translator.forgetScope(translator.scopeKey(conn.proxy, conn.explicitListenerNames() ?? []));
        }
        status.proxiesChanged(conn);
      },
      onFlush: (g, cs, at) => {
        // (No proxiesChanged here: a flush moves no proxy; their ACKs do, and report themselves.)
        status.flushed(g, cs.changes);
        opts.observe?.onFlush?.(g, at);
        if (!cs.endpointsOnly) scheduleProblemPass();
      },
      onConverged: (g, ms) => opts.observe?.onConverged?.(g, ms),
    },
  });
  status = new StatusReporter({
    store: opts.store, clock, listers,
    connections: () => pipeline.connections(),
    problems: () => translator.problems(),
    loadBalancerDomain: opts.loadBalancerDomain ?? 'sluice-gateway.sluice-system.svc.cluster.local',
  });
  server = new AdsServer({ host: opts.host, port: opts.port, clock, listener: pipeline, ackTimeoutMs: opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS });

  // Problems of roles no connected proxy translated for, via stand-in proxies: coalesced, and
  // run once the pushes of the flush went out and were ACKed (a stand-in gateway translation of
  // 10,000 Ingresses takes a good part of a second and would otherwise stall the pushes and the
  // ACK handling it overlaps with), or after PROBLEM_PASS_MAX_WAIT_MS of continuous pushing.
  let problemTimer: Timer | undefined;
  let problemDueSince = 0;
  const scheduleProblemPass = (): void => {
    if (problemTimer) return;
    problemDueSince = clock.now();
    const arm = (ms: number): void => { problemTimer = clock.setTimeout(fire, ms); };
    const fire = (): void => {
      problemTimer = undefined;
      if (pipeline.busy && clock.now() - problemDueSince < PROBLEM_PASS_MAX_WAIT_MS) { arm(PROBLEM_PASS_RECHECK_MS); return; }
      const roles = new Set(pipeline.connections().map((c) => c.proxy.role));
      const standIns = (['gateway', 'mesh'] as const).filter((r) => !roles.has(r));
      try { translator.problemsPass(standIns); } catch (e) { log.warn({ err: String(e) }, 'controlplane: problem pass failed'); }
      status.problemsChanged();
    };
    arm(PROBLEM_PASS_DELAY_MS);
  };

  /** False while the informers deliver the initial list (objects found at start-up). */
  let started = false;
  const meshSecurity = opts.translate?.meshSecurity !== undefined;
  const podNamespaces = new Set<string>();
  const observe = (resource: string, type: 'upsert' | 'delete', obj: KubeObject, old?: KubeObject): void => {
    // Deleted Endpoints go with the route changes of the same deletion (the full lane).
    let endpointsOnly = resource === 'core/endpoints' && type !== 'delete';
    if (resource === 'core/pods') {
      const c = classifyPodChange(type === 'delete' ? undefined : old, obj, meshSecurity);
      if (c === 'ignore') return;
      // A connected mesh proxy reports the security policies of the namespaces that have pods
      // (translate.ts reportSecurityPolicies): the first pod of a namespace is then a full pass,
      // once per namespace. Without one, the stand-in problem pass looks at every namespace
      // whatever its pods, and a new namespace's first pod is endpoint-only like any other (it
      // used to hold each namespace's first Route back by one quiet period).
      const ns = obj.metadata.namespace ?? '';
      endpointsOnly = c === 'endpoints' && (podNamespaces.has(ns) || !pipeline.connections().some((conn) => conn.proxy.role === 'mesh'));
      if (type === 'upsert') podNamespaces.add(ns);
    }
    translator.apply({ type, object: obj });
    const key = cacheKey(obj);
    pipeline.notify({ kind: resource, key, endpointsOnly });
    // The flush that carries the change tells the status reporter its generation (onFlush).
    if (type === 'delete') status.forget(resource, key);
    else if (!started && reportedReady(obj)) status.settled(resource, key, 1); // generation 1: the initial flush
    else status.track(resource, key);
  };
  for (const [resource, inf] of informers) {
    inf.addHandler({
      add: (o) => observe(resource, 'upsert', o),
      update: (old, o) => { if (!isStatusOnlyUpdate(resource, old, o)) observe(resource, 'upsert', o, old); },
      delete: (o) => observe(resource, 'delete', o),
    });
  }

  return {
    metrics: metrics.registry,
    pipeline,
    translator,
    get status() { return status; },
    get server() { return server; },
    async start() {
      await scope.start(); // resolves once every informer has synced
      pipeline.flushNow(); // generation 1 carries everything listed
      started = true;
      const xdsAddress = await server.start();
      log.info({ xds: xdsAddress }, 'controlplane: xDS server listening');
      return { xdsAddress };
    },
    async stop() {
      if (problemTimer) clock.clearTimeout(problemTimer);
      scope.stop();
      ownInformers?.stop();
      pipeline.stop();
      status.stop();
      await server.stop();
    },
  };
}

/** The control plane as a `sluice up` component: returns `{ xds: 'host:port' }` for endpoints.json. */
export function controlPlaneComponent(opts: Omit<ControlPlaneOptions, 'store' | 'clock'> = {}): {
  name: string;
  controlPlane(): ControlPlane | undefined;
  start(ctx: { store: Store; clock: Clock; informers?: SharedInformers }): Promise<Record<string, string>>;
  stop(): Promise<void>;
} {
  let cp: ControlPlane | undefined;
  return {
    name: 'controlplane',
    controlPlane: () => cp,
    async start(ctx) {
      cp = createControlPlane({ ...opts, store: ctx.store, clock: ctx.clock, informers: ctx.informers });
      const { xdsAddress } = await cp.start();
      return { xds: xdsAddress };
    },
    async stop() { await cp?.stop(); },
  };
}
