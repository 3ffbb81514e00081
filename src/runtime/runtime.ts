/**
 * The runtime: runs each Revision's pods as local processes and shows them as Pod objects.
 * The Revision reconciler calls `ensure(revision, replicas)` (idempotent, level-triggered);
 * the runtime starts or stops pods to match and writes every pod's status to the store
 * (one writer per pod, coalescing: at most one write in flight, the latest state wins).
 * `remove(key)` stops every pod of a revision. `start()` kills processes a previous run on the
 * same state dir left behind and deletes their Pod objects, so desired state converges again.
 * Processes never outlive the runtime: `stop()` drains them, and a process 'exit' hook kills
 * whatever is left.
 */
import { connect } from 'node:net';
import { hostname } from 'node:os';
import type { Clock } from '../lib/clock.ts';
import { realClock } from '../lib/clock.ts';
import type { Rng } from '../lib/rng.ts';
import { mathRng } from '../lib/rng.ts';
import { SluiceError, errorMessage, isSluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import type { Store } from '../store/store.ts';
import { StoreErrors } from '../store/store.ts';
import type { Revision } from '../api/types/knative.ts';
import { Labels } from '../api/types/knative.ts';
import type { Pod } from '../api/types/core.ts';
import { ImageTable, RuntimeErrors, type ResolvedCommand } from './image-table.ts';
import { applyMemoryLimit, parseMemory } from './memory-limit.ts';
import { PodProcess, type PodState } from './pod-process.ts';
import { PidRegistry, type PidRecord } from './pid-registry.ts';
import { ProcessLauncher } from './launcher.ts';
import { writePodLogMeta } from './pod-logs.ts';
import { buildPodEnv } from './pod-env.ts';
import { freePort } from './pod-ports.ts';
import { makePodMeta, makePodStatus, templateHash, NAME_ALPHABET, DEFAULT_GRACE_SECONDS } from './make-pod.ts';

export const PODS_RESOURCE = 'core/pods';

export interface RuntimeOptions {
  store: Store;
  stateDir: string;
  clock?: Clock;
  rng?: Rng;
  images?: ImageTable;
  fastProbeMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  rssCheckMs?: number;
  /** Time a stopping pod keeps serving after it left the Endpoints, before SIGTERM (default 0). */
  drainDelayMs?: number;
  /** Grace period cap used by `stop()` when sluice shuts down (default 10 s). */
  shutdownGraceMs?: number;
  /** Extra environment per pod (the mesh sets HTTP_PROXY / SLUICE_EGRESS here). */
  extraEnv?: (pod: { namespace: string; name: string; revision: string; port: number }) => Record<string, string>;
  /**
   * A per-pod listener in front of the pod (the queue-proxy role, see src/activator/queue-proxy.ts):
   * called with the pod's port and a second free port; the frontend serves on `servingPort`,
   * the Pod gets the `sluice.dev/serving-port` annotation, and its Endpoints point there.
   * `close` runs once the pod's process is gone for good.
   */
  podFrontend?: (pod: PodFrontendInfo) => { close(): Promise<void> };
  /**
   * The mesh proxy fronts pods: each pod gets two more ports, annotated on the Pod for the
   * control plane (`sluice.dev/inbound-port`: the mesh proxy's inbound listener for the pod,
   * `sluice.dev/egress-port`: its egress listener), and the egress listener as HTTP_PROXY and
   * SLUICE_EGRESS in its environment.
   */
  mesh?: boolean;
  nodeName?: string;
  /**
   * Spawn pods through a small launcher process (launcher.ts) instead of from this process
   * (default true): keeps fork()'s cost, which grows with this process's memory, off its event
   * loop and off the cold-start path.
   */
  launcher?: boolean;
}

export interface PodFrontendInfo { namespace: string; name: string; revision: string; revisionKey: string; port: number; servingPort: number; containerConcurrency: number }

interface ManagedPod {
  key: string; // revision key
  proc: PodProcess;
  meta: Pod;
  image: string;
  created: boolean;
  writing: boolean;
  dirty: boolean;
  seq: number;
  front?: { close(): Promise<void> };
  /** The mesh proxy's inbound port for the pod, and whether it was seen listening (Ready waits for it). */
  meshInbound?: number;
  meshBound?: boolean;
  meshWaiting?: boolean;
}

/** How long a ready pod's Ready condition waits for its mesh inbound listener before it is reported anyway. */
const MESH_WAIT_MS = 15_000;

function portListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export { freePort } from './pod-ports.ts';

const PORT_POOL_SIZE = 8;

/**
 * A mesh pod's way out: its egress listener as an HTTP proxy (HTTP_PROXY, http_proxy) and as
 * SLUICE_EGRESS (host:port, for Host-header routing without proxy support). NO_PROXY is cleared
 * so calls to service names go through the mesh.
 */
export function meshEgressEnv(egressPort: number): Record<string, string> {
  const url = `http://127.0.0.1:${egressPort}`;
  return { HTTP_PROXY: url, http_proxy: url, SLUICE_EGRESS: `127.0.0.1:${egressPort}` };
}

export class Runtime {
  readonly images: ImageTable;
  private readonly o: RuntimeOptions;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly pids: PidRegistry;
  private readonly byRevision = new Map<string, Set<ManagedPod>>();
  private readonly byName = new Map<string, ManagedPod>();
  private readonly starting = new Map<string, number>();
  private readonly listeners = new Set<(revisionKey: string) => void>();
  private readonly live = new Set<number>();
  private seq = 0;
  private stopping = false;
  private readonly portPool: number[] = [];
  private refilling = false;
  private readonly launcher: ProcessLauncher | undefined;
  /**
   * Pods that are this process's own children (spawned without the launcher). Only these are
   * killed by pid on exit: this process reaps them itself, so a pid in here is still theirs.
   * The launcher's pods are killed by the launcher when this process goes away.
   */
  private readonly ownLive = new Set<number>();
  private readonly exitHook = (): void => {
    for (const pid of this.ownLive) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
    this.launcher?.killNow();
  };

  constructor(o: RuntimeOptions) {
    this.o = o;
    this.clock = o.clock ?? realClock;
    this.rng = o.rng ?? mathRng;
    this.images = o.images ?? new ImageTable();
    this.pids = new PidRegistry(o.stateDir);
    this.launcher = o.launcher === false ? undefined : new ProcessLauncher();
    process.on('exit', this.exitHook);
  }

  /** Kills leftovers of an earlier run on this state dir and deletes their Pod objects. */
  async start(): Promise<{ killed: PidRecord[]; deletedPods: number }> {
    const killed = this.pids.killLeftovers();
    if (killed.length) log.info({ killed: killed.map((k) => `${k.namespace}/${k.pod}:${k.pid}`) }, 'runtime: killed processes left by a previous run');
    this.refillPorts();
    // Not awaited: until the launcher is up (~0.1 s), pods are spawned from this process.
    void this.launcher?.start();
    let deletedPods = 0;
    const res = await this.o.store.list(PODS_RESOURCE, {});
    for (const p of res.items) {
      if (this.byName.has(`${p.metadata.namespace}/${p.metadata.name}`)) continue;
      try { await this.o.store.delete(PODS_RESOURCE, p.metadata.namespace ?? '', p.metadata.name ?? ''); deletedPods++; } catch (e) {
        if (!isSluiceError(e, StoreErrors.NotFound)) throw e;
      }
    }
    return { killed, deletedPods };
  }

  /** Resolves the container's command; throws SLUICE_E_IMAGE_NOT_FOUND naming the image. */
  resolve(rev: Revision): ResolvedCommand {
    const c = rev.spec?.containers?.[0];
    if (!c) throw new SluiceError(RuntimeErrors.NoContainer, `Revision ${rev.metadata.namespace}/${rev.metadata.name}: spec.containers is empty; a revision runs exactly one container`, { httpStatus: 422 });
    return this.images.resolve(c);
  }

  onChange(fn: (revisionKey: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(key: string): void {
    for (const l of this.listeners) { try { l(key); } catch (e) { log.error({ err: errorMessage(e) }, 'runtime listener threw'); } }
  }

  /** Pods of a revision (not yet finished), as process states. */
  pods(revisionKey: string): PodState[] {
    return [...(this.byRevision.get(revisionKey) ?? [])].map((p) => ({ ...p.proc.state }));
  }

  /** Every live pod process id (tests, shutdown checks). */
  livePids(): number[] { return [...this.live]; }

  /** Starts or stops pods so that `replicas` non-terminating pods run for the revision. */
  ensure(rev: Revision, replicas: number): void {
    if (this.stopping) return;
    const key = `${rev.metadata.namespace}/${rev.metadata.name}`;
    const set = this.byRevision.get(key) ?? new Set<ManagedPod>();
    this.byRevision.set(key, set);
    const active = [...set].filter((p) => !p.proc.state.terminating);
    const have = active.length + (this.starting.get(key) ?? 0);
    if (have < replicas) {
      for (let i = have; i < replicas; i++) {
        this.startPod(rev, key).catch((e) => log.error({ revision: key, err: errorMessage(e) }, 'runtime: could not start a pod'));
      }
    } else if (active.length > replicas) {
      // Not-ready pods go first, then the newest (ReplicaSet's ordering, simplified).
      const victims = active.sort((a, b) => Number(a.proc.state.ready) - Number(b.proc.state.ready) || b.seq - a.seq).slice(0, active.length - replicas);
      for (const v of victims) void this.stopPod(v);
    }
  }

  /** Stops every pod of the revision (revision deleted). */
  async remove(revisionKey: string): Promise<void> {
    const set = this.byRevision.get(revisionKey);
    if (!set) return;
    await Promise.all([...set].map((p) => this.stopPod(p)));
    if (set.size === 0) this.byRevision.delete(revisionKey);
  }

  /** The Pod object was deleted by someone else: stop the process; the reconciler replaces it. */
  podDeleted(namespace: string, name: string): void {
    const p = this.byName.get(`${namespace}/${name}`);
    if (!p || p.proc.state.terminating) return;
    p.created = false;
    void this.stopPod(p, true);
  }

  private newPodName(rev: Revision): string {
    let suffix = '';
    for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(this.rng.next() * NAME_ALPHABET.length)];
    return `${rev.metadata.name}-deployment-${templateHash(rev.metadata.uid ?? rev.metadata.name ?? '')}-${suffix}`;
  }

  /**
   * Ports for new pods come from a small pool filled in the background, so a pod is spawned in
   * the same turn the reconciler asks for it (no await between "ensure" and spawn on the hot
   * path). A pooled port was free when probed; like any "find a free port" scheme it can be
   * taken in between, which the pod then reports as a crash (EADDRINUSE) and restarts on.
   */
  private takePort(): number | undefined {
    const port = this.portPool.shift();
    this.refillPorts();
    return port;
  }

  private refillPorts(): void {
    if (this.refilling || this.stopping) return;
    this.refilling = true;
    void (async () => {
      try {
        while (this.portPool.length < PORT_POOL_SIZE && !this.stopping) {
          const p = await freePort();
          if (!this.portPool.includes(p) && ![...this.byName.values()].some((m) => m.proc.state.port === p)) this.portPool.push(p);
        }
      } catch (e) {
        log.warn({ err: errorMessage(e) }, 'runtime: could not reserve a port');
      } finally {
        this.refilling = false;
      }
    })();
  }

  private async startPod(rev: Revision, key: string): Promise<void> {
    let port = this.takePort();
    let servingPort = this.o.podFrontend ? this.takePort() : undefined;
    if (port === undefined || (this.o.podFrontend && servingPort === undefined)) {
      this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
      try {
        port ??= await freePort();
        if (this.o.podFrontend) servingPort ??= await freePort();
      } finally {
        this.starting.set(key, (this.starting.get(key) ?? 1) - 1);
      }
    }
    let meshPorts: { inbound: number; egress: number } | undefined;
    if (this.o.mesh) {
      const inbound = this.takePort() ?? await freePort();
      let egress = this.takePort() ?? await freePort();
      while (egress === inbound || egress === port || egress === servingPort) egress = await freePort();
      meshPorts = { inbound, egress };
    }
    if (this.stopping) return;
    const ns = rev.metadata.namespace ?? 'default';
    const name = this.newPodName(rev);
    const c = rev.spec!.containers[0];
    const cmd = this.images.resolve(c);
    const limit = c.resources?.limits?.memory ? parseMemory(c.resources.limits.memory, `Revision ${key}: spec.containers[0].resources.limits.memory`) : undefined;
    const limited = applyMemoryLimit(cmd, limit);
    const labels = rev.metadata.labels ?? {};
    const nodeName = this.o.nodeName ?? hostname();
    const env = buildPodEnv({
      container: c, namespace: ns, pod: name, nodeName, port, revision: rev.metadata.name ?? '',
      configuration: labels[Labels.configuration] ?? '', service: labels[Labels.service] ?? '',
    });
    if (meshPorts) Object.assign(env, meshEgressEnv(meshPorts.egress));
    Object.assign(env, this.o.extraEnv?.({ namespace: ns, name, revision: rev.metadata.name ?? '', port }) ?? {});
    const mp: ManagedPod = {
      key, image: c.image, created: false, writing: false, dirty: false, seq: this.seq++,
      meta: makePodMeta(rev, { namespace: ns, name, port, servingPort, templateHash: templateHash(rev.metadata.uid ?? name), nodeName, mesh: meshPorts }),
      proc: undefined as unknown as PodProcess,
      ...(meshPorts ? { meshInbound: meshPorts.inbound } : {}),
    };
    if (this.o.podFrontend && servingPort !== undefined) {
      mp.front = this.o.podFrontend({ namespace: ns, name, revision: rev.metadata.name ?? '', revisionKey: key, port, servingPort, containerConcurrency: rev.spec?.containerConcurrency ?? 0 });
    }
    mp.proc = new PodProcess({
      namespace: ns, name, port, file: limited.file, args: limited.args, env, workingDir: cmd.workingDir,
      readinessProbe: c.readinessProbe, livenessProbe: c.livenessProbe, startupProbe: c.startupProbe, declaredPort: c.ports?.[0]?.containerPort,
      memoryLimitBytes: limit, stateDir: this.o.stateDir, clock: this.clock, spawner: this.launcher,
      fastProbeMs: this.o.fastProbeMs, drainDelayMs: this.o.drainDelayMs, restartBaseMs: this.o.restartBaseMs, restartMaxMs: this.o.restartMaxMs, rssCheckMs: this.o.rssCheckMs,
      onChange: () => this.podChanged(mp),
      onSpawn: (pid, info) => {
        this.live.add(pid);
        if (!info.viaLauncher) this.ownLive.add(pid);
        this.pids.record({ pid, namespace: ns, pod: name, startTime: info.startTime });
      },
      onReap: (pid) => { this.live.delete(pid); this.ownLive.delete(pid); this.pids.forget(ns, name); },
    });
    const set = this.byRevision.get(key) ?? new Set<ManagedPod>();
    this.byRevision.set(key, set);
    set.add(mp);
    this.byName.set(`${ns}/${name}`, mp);
    mp.proc.start();
    writePodLogMeta(this.o.stateDir, {
      pod: name, namespace: ns, service: labels[Labels.service], configuration: labels[Labels.configuration],
      revision: rev.metadata.name ?? '', createdAt: new Date(this.clock.now()).toISOString(),
    });
    this.sync(mp);
  }

  private stopPod(p: ManagedPod, deleted = false): Promise<void> {
    const grace = (p.meta.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    const done = p.proc.stop(this.stopping ? Math.min(grace, this.o.shutdownGraceMs ?? 10_000) : grace);
    if (deleted) p.created = false;
    return done;
  }

  /**
   * Like Istio's holdApplicationUntilProxyStarts, in reverse: a mesh pod is reported Ready (and so
   * joins its Endpoints, which point at the mesh inbound port) only once the mesh proxy listens
   * on that port, so proxies are not sent to a listener that is not bound yet.
   */
  private waitForMesh(p: ManagedPod): void {
    if (p.meshBound || p.meshWaiting || p.meshInbound === undefined) return;
    p.meshWaiting = true;
    const start = this.clock.now();
    const attempt = (): void => {
      if (this.stopping || p.proc.state.finished) { p.meshWaiting = false; return; }
      void portListening(p.meshInbound!).then((ok) => {
        if (ok || this.clock.now() - start >= MESH_WAIT_MS) {
          if (!ok) log.warn({ pod: p.meta.metadata.name, port: p.meshInbound }, 'runtime: the mesh inbound listener is not up; reporting the pod ready anyway');
          p.meshBound = true;
          p.meshWaiting = false;
          this.sync(p);
          return;
        }
        this.clock.setTimeout(attempt, 50);
      });
    };
    attempt();
  }

  private podChanged(p: ManagedPod): void {
    if (p.proc.state.ready && p.meshInbound !== undefined && !p.meshBound) this.waitForMesh(p);
    if (p.proc.state.finished) {
      this.byRevision.get(p.key)?.delete(p);
      this.byName.delete(`${p.meta.metadata.namespace}/${p.meta.metadata.name}`);
      const front = p.front;
      p.front = undefined;
      front?.close().catch((e) => log.warn({ pod: p.meta.metadata.name, err: errorMessage(e) }, 'runtime: pod frontend did not close cleanly'));
    }
    // Listeners first: the activator sends a waiting request to a pod that just turned ready in
    // this call, before the Pod status write (and the store work it sets off) takes its turn.
    this.notify(p.key);
    this.sync(p);
  }

  /** Writes the pod's latest state; coalesces while a write is in flight. */
  private sync(p: ManagedPod): void {
    if (this.stopping) return;
    if (p.writing) { p.dirty = true; return; }
    p.writing = true;
    p.dirty = false;
    void this.write(p).catch((e) => {
      if (!this.stopping) log.warn({ pod: p.meta.metadata.name, err: errorMessage(e) }, 'runtime: pod status write failed');
    }).finally(() => {
      p.writing = false;
      if (p.dirty) this.sync(p);
    });
  }

  private async write(p: ManagedPod): Promise<void> {
    const ns = p.meta.metadata.namespace ?? '';
    const name = p.meta.metadata.name ?? '';
    const s = p.proc.state;
    if (s.finished) {
      if (!p.created) return;
      p.created = false;
      try { await this.o.store.delete(PODS_RESOURCE, ns, name); } catch (e) { if (!isSluiceError(e, StoreErrors.NotFound)) throw e; }
      return;
    }
    const meshHeld = p.meshInbound !== undefined && !p.meshBound && s.ready;
    const status = makePodStatus(meshHeld ? { ...s, ready: false } : s, p.image, p.meta.spec?.containers[0]?.name);
    if (!p.created) {
      if (s.terminating) return;
      try {
        // Core kinds keep status on create: one write shows the pod with its current state.
        await this.o.store.create(PODS_RESOURCE, { ...p.meta, status });
        p.created = true;
        return;
      } catch (e) {
        // An old object of the same name (a previous run): take it over with a status write.
        if (!isSluiceError(e, StoreErrors.AlreadyExists)) throw e;
        p.created = true;
      }
    }
    try {
      await this.o.store.update(PODS_RESOURCE, { ...p.meta, status }, { subresource: 'status' });
    } catch (e) {
      if (!isSluiceError(e, StoreErrors.NotFound)) throw e;
    }
  }

  /** Drains every pod (grace capped by shutdownGraceMs), then kills any straggler. */
  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.byName.values()];
    const cap = this.o.shutdownGraceMs ?? 10_000;
    await Promise.race([
      Promise.all(all.map((p) => p.proc.stop(Math.min(cap, (p.meta.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000)))),
      new Promise<void>((r) => { const t = setTimeout(r, cap + 1000); t.unref(); }),
    ]);
    for (const p of all) p.proc.killNow();
    await Promise.all(all.map((p) => p.front?.close().catch(() => {})));
    await this.launcher?.close();
    this.exitHook();
    process.off('exit', this.exitHook);
  }
}
