/**
 * The autoscaling half of `sluice up`: the multiscaler (as the serving component's ScaleSource),
 * the activator (an HTTP server in the control process whose address the control plane routes
 * revisions with no ready pod to), and the queue-proxy role in front of every pod (created by
 * the runtime's podFrontend hook; its stats feed the multiscaler).
 *
 * The activator's place in the path follows the autoscaler: each KPA decision sets the
 * revision's activator mode (proxy when spare capacity is below target-burst-capacity, see
 * autoscaler/activator-mode.ts), and the ActivatorModePublisher writes it onto the revision's
 * Endpoints, where the control plane's translation reads it. Counters and per-revision gauges
 * are served at /metrics/autoscaler.
 *
 * Start order: this component starts BEFORE serving (so the scale source and the pod frontends
 * exist when the first revision is reconciled) and before the network (so the activator's
 * address is known when the control plane builds its first snapshot); it stops last.
 *
 *   const autoscaling = new AutoscalingComponent(parseAutoscalerConfig(config.autoscaler, file));
 *   const serving = createServingComponent({ scaleSource: autoscaling.scaleSource, runtime: { podFrontend: autoscaling.podFrontend } });
 *   autoscaling.attach(serving);
 *   networkComponent(net, { activator: () => autoscaling.activatorAddress });
 */
import type { Configuration, Revision, Route } from '../api/types/knative.ts';
import type { Endpoints } from '../api/types/core.ts';
import type { Component, ComponentContext } from '../cli/control-process.ts';
import type { InformerHandle } from '../controller/informer.ts';
import { SharedInformers, type InformerScope } from '../controller/shared-informers.ts';
import type { Clock } from '../lib/clock.ts';
import { realClock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { Activator } from '../activator/activator.ts';
import { endpointsBackendSource, unionBackendSource, type Backend, type BackendSource } from '../activator/backends.ts';
import { QueueProxy } from '../activator/queue-proxy.ts';
import type { AutoscalerConfig } from '../autoscaler/config.ts';
import { AutoscalerScaleSource } from '../autoscaler/autoscaler-scale-source.ts';
import { ActivatorModePublisher } from '../autoscaler/activator-mode-publisher.ts';
import { autoscalingMetrics } from '../autoscaler/autoscaling-metrics.ts';
import { routingStateOf, type RoutingState } from '../reconcilers/revision/routing-state.ts';
import { R } from '../reconcilers/shared/resources.ts';
import type { ServingComponent } from '../reconcilers/serving-component.ts';
import type { PodFrontendInfo } from '../runtime/runtime.ts';
import type { AuthorizationPolicy } from '../api/types/istio.ts';
import { WorkloadAuthz } from '../security/workload-authz.ts';
import { activatorAuthorizer } from '../activator/activator-authz.ts';

export interface AutoscalingOptions {
  clock?: Clock;
  /** How long the activator holds a request waiting for a ready pod (default 60 s). */
  activatorTimeoutMs?: number;
  /** Requests the activator buffers per revision (default 1000). */
  activatorQueueLimit?: number;
  /**
   * How long a pod's queue-proxy listener stays open after the pod's process is gone, handing
   * every request to the activator, while proxies still hold the old address (default 10 s).
   */
  queueProxyLingerMs?: number;
  /**
   * The mesh is on (proxy.mesh): the activator applies the AuthorizationPolicies of the pods it
   * sends to, as knative-serving/activator (security/workload-authz.ts), since its requests
   * skip the pods' mesh inbound listeners. Absent = no check (no mesh, no policies enforced).
   */
  mesh?: {
    /** The mesh CA's trust domain. */
    trustDomain(): string;
    /** The translation's last valid policy versions (MeshSecurityInput.lastGoodPolicies). */
    lastGoodPolicies?(): Map<string, unknown> | undefined;
  };
}

export class AutoscalingComponent implements Component {
  readonly name = 'autoscaler';
  readonly scaleSource: AutoscalerScaleSource;
  private serving: ServingComponent | undefined;
  private activator: Activator | undefined;
  private modePublisher: ActivatorModePublisher | undefined;
  private scope: InformerScope | undefined;
  /** Informers of its own when started without shared ones (tests). */
  private ownInformers: SharedInformers | undefined;
  private routes: InformerHandle<Route> | undefined;
  private configurations: InformerHandle<Configuration> | undefined;
  private readonly clock: Clock;
  private readonly queueProxies = new Set<QueueProxy>();
  /** Serving port of each live pod's queue-proxy, by `namespace/pod`. */
  private readonly servingPorts = new Map<string, number>();
  /** Each live pod's queue-proxy, by `namespace/pod`: the activator hands it requests in-process. */
  private readonly podQueueProxies = new Map<string, QueueProxy>();
  private stopped = false;
  private readonly runtimeListeners = new Set<(key: string) => void>();
  private hookedRuntime: unknown;

  constructor(readonly config: AutoscalerConfig, private readonly opts: AutoscalingOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.scaleSource = new AutoscalerScaleSource({
      config, clock: this.clock,
      pods: (key) => this.serving?.runtime?.pods(key) ?? [],
      isReady: (key, pod) => this.endpointsReady(key, pod.name),
      routingState: (rev) => this.routingState(rev),
    });
  }

  private endpointsInformer: InformerHandle<Endpoints> | undefined;

  /** The pod is a ready address of the revision's Endpoints (what the proxies route to). */
  private endpointsReady(key: string, podName: string): boolean {
    const slash = key.indexOf('/');
    const ep = this.endpointsInformer?.lister.get(key.slice(0, slash), key.slice(slash + 1));
    return (ep?.subsets ?? []).some((s) => (s.addresses ?? []).some((a) => a.targetRef?.name === podName));
  }

  /** The serving component whose runtime runs the pods this component scales. */
  attach(serving: ServingComponent): void { this.serving = serving; }

  get activatorAddress(): { address: string; port: number } | undefined { return this.activator?.address; }

  /** The runtime's podFrontend hook: a queue-proxy listener per pod, reporting to the multiscaler. */
  readonly podFrontend = (pod: PodFrontendInfo): { close(): Promise<void> } => {
    this.hookRuntime();
    const qp = new QueueProxy({
      name: `${pod.namespace}/${pod.name}`, target: { host: '127.0.0.1', port: pod.port },
      containerConcurrency: pod.containerConcurrency, clock: this.clock,
      onStats: (stat) => this.scaleSource.podStats(pod.revisionKey, pod.name, stat),
      fallback: () => { const a = this.activator?.address; return a && { host: a.address, port: a.port }; },
    });
    this.queueProxies.add(qp);
    this.servingPorts.set(`${pod.namespace}/${pod.name}`, pod.servingPort);
    this.podQueueProxies.set(`${pod.namespace}/${pod.name}`, qp);
    qp.listen(pod.servingPort).catch((e) => log.error({ pod: `${pod.namespace}/${pod.name}`, port: pod.servingPort, err: errorMessage(e) }, 'queue-proxy: could not listen; the pod gets no traffic'));
    return {
      // The pod is gone. Proxies may still send to this address until they get the new
      // Endpoints: keep listening a while and hand everything to the activator (nothing lost).
      close: async () => {
        this.servingPorts.delete(`${pod.namespace}/${pod.name}`);
        this.podQueueProxies.delete(`${pod.namespace}/${pod.name}`);
        qp.retire();
        const closeNow = (): void => { this.queueProxies.delete(qp); void qp.close(); };
        if (this.stopped) { closeNow(); return; }
        const t = setTimeout(closeNow, this.opts.queueProxyLingerMs ?? 10_000);
        t.unref();
      },
    };
  };

  /** When each revision's desired scale last went up from no live pod (cold-start diagnostics). */
  private readonly scaleUpAt = new Map<string, number>();

  private noteScale(key: string): void {
    const d = this.scaleSource.decisions.get(key);
    const live = (this.serving?.runtime?.pods(key) ?? []).some((p) => !p.terminating && !p.finished);
    if (d && d.desiredScale > 0 && !live) this.scaleUpAt.set(key, this.clock.now());
  }

  /**
   * One line per request that waited in the activator, with its way through the cold start, in
   * ms after its arrival: the scale-up decision, the pod's creation (reconcile → runtime),
   * its process spawned, its readiness, the activator sending the request, the first byte back.
   */
  private logWaited(key: string, backend: Backend, t: { arrivedAt: number; forwardedAt: number; firstByteAt: number }): void {
    const rel = (x: number | undefined): number | undefined => (x === undefined || x < t.arrivedAt ? undefined : x - t.arrivedAt);
    const podName = backend.id.slice(backend.id.indexOf('/') + 1);
    const pod = this.serving?.runtime?.pods(key).find((p) => p.name === podName);
    const scaledUp = this.scaleUpAt.get(key);
    log.info({
      revision: key, pod: podName, waitedMs: t.firstByteAt - t.arrivedAt,
      phases: {
        decided: rel(scaledUp), podCreated: rel(pod?.createdAt), spawned: rel(pod?.startedAt),
        ready: pod?.ready ? rel(pod.readyChangedAt) : undefined, forwarded: t.forwardedAt - t.arrivedAt, firstByte: t.firstByteAt - t.arrivedAt,
      },
    }, 'activator: waiting request answered');
  }

  /**
   * Ready pods as the local runtime sees them, at their queue-proxy ports, each with its
   * queue-proxy object so the activator skips the loopback hop (on a control process busy with
   * the store writes and pushes a pod's readiness sets off, that hop cost 10-30 ms).
   */
  private runtimeBackends(): BackendSource {
    return {
      backends: (key) => {
        const out: Backend[] = [];
        for (const p of this.serving?.runtime?.pods(key) ?? []) {
          const id = `${p.namespace}/${p.name}`;
          const port = this.servingPorts.get(id);
          const qp = this.podQueueProxies.get(id);
          if (p.ready && !p.terminating && !p.finished && port) {
            out.push({ id, host: '127.0.0.1', port, ...(qp ? { local: (req, res, o) => qp.accept(req, res, o) } : {}) });
          }
        }
        return out;
      },
      onChange: (fn) => { this.runtimeListeners.add(fn); return () => this.runtimeListeners.delete(fn); },
    };
  }

  /** The runtime exists once serving starts (before its first pod): subscribe to it then. */
  private hookRuntime(): void {
    const rt = this.serving?.runtime;
    if (!rt || this.hookedRuntime === rt) return;
    this.hookedRuntime = rt;
    rt.onChange((key) => {
      // A stopping pod (scale-down, deletion) takes no new request: its queue-proxy hands every
      // new one to the activator at once. Sent on to a pod that is closing its connections, a
      // request could be cut after it reached the pod (502), which must not happen.
      for (const p of rt.pods(key)) if (p.terminating) this.podQueueProxies.get(`${p.namespace}/${p.name}`)?.retire();
      for (const l of this.runtimeListeners) l(key);
    });
  }

  private routingState(rev: Revision): RoutingState {
    // Before the informers sync, treat every revision as routed (it keeps its pods).
    if (!this.routes?.hasSynced() || !this.configurations?.hasSynced()) return 'active';
    return routingStateOf(rev, { routes: this.routes.lister, configurations: this.configurations.lister });
  }

  async start(ctx: ComponentContext): Promise<Record<string, string>> {
    if (!ctx.informers) this.ownInformers = new SharedInformers({ store: ctx.store, clock: this.clock });
    const scope = (ctx.informers ?? this.ownInformers!).scope();
    this.scope = scope;
    const inf = <T extends object>(resource: string): InformerHandle<T & any> => scope.get(resource);
    this.routes = inf<Route>(R.routes);
    this.configurations = inf<Configuration>(R.configurations);
    const revisions = inf<Revision>(R.revisions);
    const endpoints = inf<Endpoints>(R.endpoints);
    this.endpointsInformer = endpoints;
    const mesh = this.opts.mesh;
    const policies = mesh ? inf<AuthorizationPolicy>('security.istio.io/authorizationpolicies') : undefined;
    const authorize = mesh && policies ? activatorAuthorizer({
      mesh: true, trustDomain: () => mesh.trustDomain(),
      authz: new WorkloadAuthz({
        // Fail closed (the activator denies on an error) until the policies are loaded.
        policies: (ns) => { if (!policies.hasSynced()) throw new Error('AuthorizationPolicies are not loaded yet'); return policies.lister.list(ns); },
        lastGoodPolicies: mesh.lastGoodPolicies }),
      revision: (ns, name) => revisions.lister.get(ns, name),
    }) : undefined;
    revisions.addHandler({ delete: (r: Revision) => this.scaleSource.forget(`${r.metadata.namespace}/${r.metadata.name}`) });
    const publisher = new ActivatorModePublisher({
      store: ctx.store, endpoints, clock: this.clock,
      // Without a running activator proxy mode would have nowhere to send traffic.
      mode: (key) => (this.activator?.address ? this.scaleSource.activatorMode(key) : undefined),
    });
    this.modePublisher = publisher;
    this.scaleSource.onModeChange((key) => publisher.changed(key));
    this.scaleSource.subscribe((key) => this.noteScale(key));
    this.activator = new Activator({
      clock: this.clock,
      // The runtime's readiness (the pods of this process, handed requests in-process), plus the
      // Endpoints (the same fact, learned two store writes later; pods this process does not run).
      backends: unionBackendSource(this.runtimeBackends(), endpointsBackendSource(endpoints)),
      onDemand: (key, stat) => this.scaleSource.demand(key, stat),
      containerConcurrency: (key) => this.scaleSource.containerConcurrency(key),
      timeoutMs: this.opts.activatorTimeoutMs,
      queueLimit: this.opts.activatorQueueLimit,
      onWaited: (key, backend, t) => this.logWaited(key, backend, t),
      ...(authorize ? { authorize } : {}),
    });
    const addr = await this.activator.listen(0);
    await scope.start();
    void publisher.start();
    this.scaleSource.start();
    const metrics = autoscalingMetrics({ scaleSource: this.scaleSource, activator: this.activator });
    ctx.api.addRoute('/metrics/autoscaler', async (_req, res) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(await metrics.metrics());
    });
    return { activator: `http://${addr.address}:${addr.port}` };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.queueProxies].map((q) => q.close()));
    this.queueProxies.clear();
    this.scaleSource.stop();
    await this.modePublisher?.stop();
    this.scope?.stop();
    this.ownInformers?.stop();
    this.scope = undefined;
    this.ownInformers = undefined;
    await this.activator?.close();
  }
}
