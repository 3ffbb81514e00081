/**
 * The activator: where the gateway sends a revision's traffic while the revision has no ready
 * pod (the control plane puts the activator's address into the revision's load assignment).
 * It reads the revision from the `Knative-Serving-Namespace` / `Knative-Serving-Revision`
 * headers the Route's splits add, buffers the request in a bounded per-revision queue, tells
 * the autoscaler at once (`onDemand` → a report with the queue depth as concurrency + a poke,
 * then once a second while requests wait), and forwards each buffered request to a ready pod by
 * its direct address as soon as the revision's Endpoints show one, with streaming in both
 * directions.
 *
 * Guarantees: a request is forwarded at most once. It is only sent to another pod when the
 * connection to the first one failed before any byte was written (it never reached a pod);
 * after that, a failure is answered 502. A request that waits longer than `timeoutMs` gets 504,
 * one that finds the queue full gets 503, each with a body saying which revision and why.
 * containerConcurrency is respected when choosing a pod: the activator never has more than that
 * many requests in flight to one pod (the pod's queue-proxy role enforces it for all traffic).
 *
 * The activator is also in the path while a revision HAS ready pods but too little spare
 * capacity for its target burst capacity (the autoscaler's proxy mode, see
 * autoscaler/activator-mode.ts): it then load-balances across the ready pods itself, least
 * loaded first, holding requests while every pod is at containerConcurrency. Requests it sends
 * carry `K-Proxy-Request: activator` (Knative's header), so a pod sees which path a request took.
 *
 * With the mesh on, requests reach a pod from here past its mesh inbound listener, so the
 * activator applies the pod's AuthorizationPolicies itself (`authorize`, see
 * security/workload-authz.ts), as the source `knative-serving/activator` like Knative's
 * activator seen by an Istio sidecar: a denied request is answered 403 `RBAC: access denied`
 * (Envoy's answer) at arrival, before it is buffered or reaches a pod.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, Timer } from '../lib/clock.ts';
import { log } from '../lib/log.ts';
import type { PodStat } from '../autoscaler/revision-autoscaler.ts';
import type { Backend, BackendSource } from './backends.ts';
import { ConcurrencyMeter } from './concurrency-meter.ts';
import { forward, plainError } from './forward.ts';
import { FALLBACK_FROM_HEADER } from './queue-proxy.ts';
import { RBAC_DENIED_BODY, RBAC_DENIED_STATUS, type AuthzDecision } from '../security/authorization.ts';

export const ActivatorErrors = {
  NoRevision: 'SLUICE_E_ACTIVATOR_NO_REVISION',
  QueueFull: 'SLUICE_E_ACTIVATOR_QUEUE_FULL',
  Timeout: 'SLUICE_E_ACTIVATOR_TIMEOUT',
} as const;

export const REVISION_HEADER = 'knative-serving-revision';
/** Knative's marker on requests the activator proxies to a pod. */
export const PROXY_HEADER = 'k-proxy-request';
export const NAMESPACE_HEADER = 'knative-serving-namespace';

export interface ActivatorOptions {
  clock: Clock;
  backends: BackendSource;
  /** Demand for a revision: called at once when a request is buffered and every second while any wait. */
  onDemand?: (revisionKey: string, stat: PodStat) => void;
  /** containerConcurrency of a revision (0 = unlimited). */
  containerConcurrency?: (revisionKey: string) => number;
  /** Buffered requests per revision (default 1000). */
  queueLimit?: number;
  /** How long a request may wait for a ready pod (default 60 s). */
  timeoutMs?: number;
  reportIntervalMs?: number;
  host?: string;
  /**
   * A request that had to wait got its answer's first byte from `backend`: arrival, when it was
   * sent on, and the first byte (clock ms). Cold-start diagnostics.
   */
  onWaited?: (revisionKey: string, backend: Backend, t: { arrivedAt: number; forwardedAt: number; firstByteAt: number }) => void;
  /**
   * Whether a request may reach the revision's pods (their AuthorizationPolicies with the
   * activator as source, security/workload-authz.ts); undefined = no check (mesh off).
   */
  authorize?: (revisionKey: string, req: IncomingMessage) => AuthzDecision | undefined;
}

interface Pending {
  req: IncomingMessage;
  res: ServerResponse;
  /** The wait limit, while the request waits in the queue. */
  timer?: Timer;
  since: number;
  /** A pod that handed this request back (its queue-proxy): never picked for it. */
  avoid?: string;
  /** It waited in the queue (not sent on at arrival). */
  waited?: boolean;
}

interface RevisionQueue {
  key: string;
  waiting: Pending[];
  meter: ConcurrencyMeter; // buffered requests only (the pods' queue-proxies count the rest)
  idleReports: number;
  /** Pods that refused a connection; skipped until the revision's Endpoints change. */
  refused: Set<string>;
}

export class Activator {
  private server: http.Server | undefined;
  private readonly queues = new Map<string, RevisionQueue>();
  /** Requests in flight from the activator, per pod id. */
  private readonly inFlight = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private reportTimer: Timer | undefined;
  private rr = 0;
  /** Counters for tests and metrics. */
  readonly counts = { buffered: 0, forwarded: 0, timedOut: 0, rejected: 0, resent: 0, denied: 0 };
  /** The same counters per revision (`namespace/name`), kept for the process's life (metrics). */
  readonly revisionCounts = new Map<string, { buffered: number; forwarded: number; timedOut: number; rejected: number }>();

  private revCount(key: string): { buffered: number; forwarded: number; timedOut: number; rejected: number } {
    let c = this.revisionCounts.get(key);
    if (!c) this.revisionCounts.set(key, (c = { buffered: 0, forwarded: 0, timedOut: 0, rejected: 0 }));
    return c;
  }

  constructor(private readonly o: ActivatorOptions) {
    this.unsubscribe = o.backends.onChange((key) => {
      const q = this.queues.get(key);
      if (!q) return;
      q.refused.clear();
      this.dispatch(q);
    });
  }

  get address(): { address: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null;
    return a ? { address: a.address, port: a.port } : undefined;
  }

  /** Requests buffered for a revision now. */
  queued(revisionKey: string): number { return this.queues.get(revisionKey)?.waiting.length ?? 0; }

  listen(port = 0): Promise<{ address: string; port: number }> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    this.scheduleReport();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.o.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(this.address!); });
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const ns = String(req.headers[NAMESPACE_HEADER] ?? '');
    const rev = String(req.headers[REVISION_HEADER] ?? '');
    if (!ns || !rev) {
      req.resume();
      plainError(res, 400, ActivatorErrors.NoRevision, `activator: request for host ${req.headers.host ?? '(none)'} names no revision (headers Knative-Serving-Namespace and Knative-Serving-Revision are missing); the gateway adds them for routed traffic`);
      return;
    }
    const key = `${ns}/${rev}`;
    if (this.o.authorize && !this.authorized(key, req, res)) return;
    let q = this.queues.get(key);
    if (!q) {
      q = { key, waiting: [], meter: new ConcurrencyMeter(this.o.clock.now()), idleReports: 0, refused: new Set() };
      this.queues.set(key, q);
    }
    const limit = this.o.queueLimit ?? 1000;
    if (q.waiting.length >= limit) {
      this.counts.rejected++;
      this.revCount(key).rejected++;
      req.resume();
      plainError(res, 503, ActivatorErrors.QueueFull, `activator: revision ${key} has ${q.waiting.length} requests waiting for a ready pod with room (limit ${limit}); retry later`);
      return;
    }
    const from = req.headers[FALLBACK_FROM_HEADER];
    const avoid = typeof from === 'string' && from ? from : undefined;
    // Fast path: a pod with room is already known.
    const b = this.pick(q, avoid);
    if (b && q.waiting.length === 0) { this.send(q, { req, res, since: this.o.clock.now(), avoid }, b); return; }

    const timeoutMs = this.o.timeoutMs ?? 60_000;
    const p: Pending = { req, res, since: this.o.clock.now(), avoid, waited: true };
    p.timer = this.o.clock.setTimeout(() => {
      if (!this.remove(q!, p)) return;
      this.counts.timedOut++;
      this.revCount(key).timedOut++;
      req.resume();
      plainError(res, 504, ActivatorErrors.Timeout, `activator: revision ${key} had no ready pod within ${timeoutMs} ms; it may be failing to start (kubectl describe revision ${rev} -n ${ns})`);
    }, timeoutMs);
    res.on('close', () => { if (this.remove(q!, p) && p.timer) this.o.clock.clearTimeout(p.timer); });
    q.waiting.push(p);
    q.meter.start(this.o.clock.now());
    q.idleReports = 0;
    this.counts.buffered++;
    this.revCount(key).buffered++;
    this.demand(q, { concurrency: q.waiting.length, rps: 0 });
    this.dispatch(q);
  }

  /** Applies `authorize`; a denied request is answered 403 as Envoy's RBAC filter does, and logged. */
  private authorized(key: string, req: IncomingMessage, res: ServerResponse): boolean {
    let d: AuthzDecision | undefined;
    try { d = this.o.authorize!(key, req); } catch (e) {
      // Fail closed: a decision that cannot be made lets nothing through.
      d = { allowed: false, action: 'DENY', reason: `authorization failed: ${String(e)}` };
    }
    if (!d || d.allowed) return true;
    this.counts.denied++;
    log.warn({ revision: key, method: req.method, path: req.url, host: req.headers.host, policy: d.matchedPolicy, reason: d.reason }, 'activator: request denied by AuthorizationPolicy (the activator calls pods as knative-serving/activator; allow that namespace in the policy)');
    req.resume();
    const body = RBAC_DENIED_BODY;
    res.writeHead(RBAC_DENIED_STATUS, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return false;
  }

  /** Takes `p` out of the queue; false when it already left (sent, timed out, client gone). */
  private remove(q: RevisionQueue, p: Pending): boolean {
    const i = q.waiting.indexOf(p);
    if (i < 0) return false;
    q.waiting.splice(i, 1);
    q.meter.end(this.o.clock.now());
    return true;
  }

  private demand(q: RevisionQueue, stat: PodStat): void {
    try { this.o.onDemand?.(q.key, stat); } catch (e) { log.warn({ err: String(e), revision: q.key }, 'activator: autoscaler notification failed'); }
  }

  /** A ready pod of the revision with room under containerConcurrency, least loaded first. */
  private pick(q: RevisionQueue, avoid?: string): Backend | undefined {
    const cc = this.o.containerConcurrency?.(q.key) ?? 0;
    const all = this.o.backends.backends(q.key).filter((b) => !q.refused.has(b.id) && b.id !== avoid);
    if (all.length === 0) return undefined;
    let best: Backend | undefined;
    let bestLoad = Infinity;
    const start = this.rr++ % all.length;
    for (let i = 0; i < all.length; i++) {
      const b = all[(start + i) % all.length]!;
      const load = this.inFlight.get(b.id) ?? 0;
      if (cc > 0 && load >= cc) continue;
      if (load < bestLoad) { best = b; bestLoad = load; }
    }
    return best;
  }

  private dispatch(q: RevisionQueue): void {
    while (q.waiting.length > 0) {
      const p = q.waiting[0]!;
      const b = this.pick(q, p.avoid);
      if (!b) return;
      this.remove(q, p);
      if (p.timer) this.o.clock.clearTimeout(p.timer);
      this.send(q, p, b);
    }
  }

  private send(q: RevisionQueue, p: Pending, b: Backend): void {
    this.inFlight.set(b.id, (this.inFlight.get(b.id) ?? 0) + 1);
    this.counts.forwarded++;
    this.revCount(q.key).forwarded++;
    const forwardedAt = this.o.clock.now();
    const onResponse = p.waited && this.o.onWaited
      ? () => { try { this.o.onWaited!(q.key, b, { arrivedAt: p.since, forwardedAt, firstByteAt: this.o.clock.now() }); } catch { /* diagnostics only */ } }
      : undefined;
    const headers = { [PROXY_HEADER]: 'activator' };
    // The pod's queue-proxy in this process takes the request directly; else over HTTP.
    const sent = b.local ? b.local(p.req, p.res, { headers, onResponse }) : forward(p.req, p.res, b, { headers, onResponse });
    void sent.then((out) => {
      this.inFlight.set(b.id, (this.inFlight.get(b.id) ?? 1) - 1);
      if (this.inFlight.get(b.id) === 0) this.inFlight.delete(b.id);
      if (out.kind === 'unreached') {
        // Never reached a pod: safe to send again, first in line, to another pod (or when one appears).
        this.counts.forwarded--;
        this.revCount(q.key).forwarded--;
        this.counts.resent++;
        q.refused.add(b.id);
        log.info({ revision: q.key, pod: b.id, err: out.error.message }, 'activator: the pod never got the request (refused the connection or is stopping); it goes back to the queue');
        if (p.res.destroyed) return;
        p.timer = this.o.clock.setTimeout(() => {
          if (!this.remove(q, p)) return;
          this.counts.timedOut++;
          this.revCount(q.key).timedOut++;
          plainError(p.res, 504, ActivatorErrors.Timeout, `activator: revision ${q.key} had no reachable pod within ${this.o.timeoutMs ?? 60_000} ms`);
        }, Math.max(0, (this.o.timeoutMs ?? 60_000) - (this.o.clock.now() - p.since)));
        q.waiting.unshift(p);
        q.meter.start(this.o.clock.now());
      }
      this.dispatch(q);
    });
  }

  private scheduleReport(): void {
    this.reportTimer = this.o.clock.setTimeout(() => {
      this.reportTimer = undefined;
      if (!this.server) return;
      for (const q of this.queues.values()) {
        const stat = q.meter.report(this.o.clock.now());
        this.demand(q, stat);
        if (q.waiting.length === 0 && stat.concurrency === 0) {
          // One zero report after the last wait, then the revision leaves the activator's books.
          if (++q.idleReports >= 2) this.queues.delete(q.key);
        }
      }
      this.scheduleReport();
    }, this.o.reportIntervalMs ?? 1000);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.reportTimer) this.o.clock.clearTimeout(this.reportTimer);
    const s = this.server;
    this.server = undefined;
    for (const q of this.queues.values()) {
      for (const p of q.waiting.splice(0)) {
        if (p.timer) this.o.clock.clearTimeout(p.timer);
        plainError(p.res, 503, ActivatorErrors.Timeout, `activator: shutting down before revision ${q.key} had a ready pod`);
      }
    }
    this.queues.clear();
    if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeIdleConnections?.(); setTimeout(() => s.closeAllConnections?.(), 1000).unref(); });
  }
}
