/**
 * One connected proxy's ADS stream, independent of the wire variant (SotW or Delta subclass it).
 * It holds, per resource type: the subscription, what the proxy has been sent, the one response
 * in flight (flow control: at most one un-ACKed response per type; the next goes out on ACK, or
 * after `ackTimeoutMs`), and the last NACK.
 *
 * Push order: on every pump the types are visited CDS → EDS → LDS → RDS → SDS, so one push
 * reaches the proxy in that order on the stream. Removal last: clusters and endpoint sets that
 * left the snapshot are kept on the proxy until the listeners and routes of the same push are
 * ACKed (no route may point at a cluster the proxy has already dropped), and only then removed.
 *
 * "Applied": when no response is in flight or due, no removal is held back, and the last response
 * of every type was ACKed, the proxy runs the snapshot's generation; listeners hear about it
 * (the control plane turns that into Ingress readiness).
 */
import { PUSH_ORDER, TypeUrl } from '../../xds/protos.ts';
import type { Clock, Timer } from '../../lib/clock.ts';
import type { Snapshot } from './snapshot.ts';
import type { ProxyInfo } from './node-info.ts';

export type XdsProtocol = 'sotw' | 'delta';

export interface InFlight { nonce: string; version: string; generation: number; sentAt: number; timer?: Timer }
export interface Nack { version: string; message: string; at: number; generation: number }

export interface TypeState {
  readonly type: string;
  /** Wildcard subscription (SotW: empty resource_names on LDS/CDS; delta: `*` or the legacy empty first request). */
  wildcard: boolean;
  /** Explicitly subscribed names (besides wildcard). */
  names: Set<string>;
  /** What the proxy was sent and (optimistically) holds: name → version ('' = told it does not exist). */
  known: Map<string, string>;
  inflight?: InFlight;
  /** The last response whose ACK did not come in time: not applied until a later ACK (or its own, late). */
  timedOut?: InFlight;
  /** Something may need sending once flow control allows. */
  dirty: boolean;
  /** The proxy asked and has not had an answer yet: answer even if the answer is empty. */
  mustRespond: boolean;
  /** Removals held back until listeners and routes are ACKed. */
  removalsHeld: boolean;
  lastSentVersion?: string;
  lastAckedVersion?: string;
  /** Set by a NACK, cleared by the next ACK of this type. */
  nack?: Nack;
  /**
   * The snapshot entries of this type the proxy was last brought fully up to date with (nothing
   * held back); while the snapshot's entries are the same map and the subscription did not
   * change, there is nothing to send (a push that changed other types skips this one in O(1)).
   */
  settledOn?: object;
  /** Delta: names subscribed since the last response was built (answered on top of the builds' changes). */
  added?: Set<string>;
  /** Delta: names the proxy holds that left the snapshot, their removal held back (HELD types). */
  heldRemovals?: Set<string>;
  /** Nonce of the last response of this type on this stream. */
  lastNonce?: string;
}

export interface ConnectionListener {
  onAck?(conn: ProxyConnection, type: string, version: string, latencyMs: number): void;
  onNack?(conn: ProxyConnection, type: string, version: string, message: string): void;
  onSent?(conn: ProxyConnection, type: string, bytes: number, resources: number, removed: number): void;
  onApplied?(conn: ProxyConnection, generation: number): void;
  onAckTimeout?(conn: ProxyConnection, type: string): void;
  /** The subscription of a type changed (called before the response to it is built). */
  onSubscription?(conn: ProxyConnection, type: string): void;
}

export interface ConnectionOptions { clock: Clock; ackTimeoutMs: number; listener: ConnectionListener }

/** A built response, encoded (see wire.ts), and what it tells the proxy. */
export interface BuiltResponse { wire: Buffer; nonce: string; version: string; bytes: number; resources: number; removed: number }

let connectionSeq = 0;
const HOLDERS = [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.VirtualHost] as const;
const HELD = new Set<string>([TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]);

export abstract class ProxyConnection {
  readonly connId = `c${++connectionSeq}`;
  readonly proxy: ProxyInfo;
  abstract readonly protocol: XdsProtocol;
  readonly connectedAt: number;
  snapshot?: Snapshot;
  /** The generation the proxy was last confirmed to run (all ACKed); -1 until then. */
  appliedGeneration = -1;
  closed = false;
  protected readonly types = new Map<string, TypeState>();
  protected readonly opts: ConnectionOptions;

  constructor(proxy: ProxyInfo, opts: ConnectionOptions) {
    this.proxy = proxy;
    this.opts = opts;
    this.connectedAt = opts.clock.now();
  }

  /** Builds the next response for a type, or undefined when there is nothing to send. */
  protected abstract build(st: TypeState, snap: Snapshot, allowRemovals: boolean): BuiltResponse | undefined;
  /** Writes one response on the stream; resolves when the transport took it. */
  protected abstract write(message: Buffer): Promise<void>;

  typeState(type: string): TypeState {
    let st = this.types.get(type);
    if (!st) {
      st = { type, wildcard: false, names: new Set(), known: new Map(), dirty: false, mustRespond: false, removalsHeld: false };
      this.types.set(type, st);
    }
    return st;
  }

  /** Read-only view for diagnostics and tests. */
  stateOf(type: string): Readonly<TypeState> | undefined { return this.types.get(type); }
  subscribedTypes(): string[] { return [...this.types.keys()]; }

  /**
   * Listener names the proxy asked for explicitly (proxyless gRPC clients ask for their target's
   * listener by name); undefined when it takes every listener (wildcard) or has not asked yet.
   */
  explicitListenerNames(): string[] | undefined {
    const st = this.types.get(TypeUrl.Listener);
    if (!st || st.wildcard) return undefined;
    return [...st.names].sort();
  }

  /** Replaces the snapshot without sending (the next pump uses it); for scope moves. */
  setSnapshot(snap: Snapshot): void {
    if (this.closed) return;
    this.snapshot = snap;
    for (const st of this.types.values()) st.dirty = true;
  }

  /** Installs a new snapshot and sends what flow control allows. */
  async push(snap: Snapshot): Promise<void> {
    if (this.closed) return;
    this.snapshot = snap;
    for (const st of this.types.values()) st.dirty = true;
    await this.pump();
  }

  /** Handles an ACK or NACK for the in-flight response with this nonce; false when the nonce is stale. */
  protected settle(st: TypeState, nonce: string, errorMessage: string | undefined): boolean {
    let f = st.inflight;
    if (!f || f.nonce !== nonce) {
      // A late answer to a response flow control stopped waiting for still counts for it.
      if (st.timedOut?.nonce !== nonce) return false;
      f = st.timedOut;
    } else {
      if (f.timer) this.opts.clock.clearTimeout(f.timer);
      st.inflight = undefined;
    }
    st.timedOut = undefined;
    if (errorMessage === undefined) {
      st.lastAckedVersion = f.version;
      st.nack = undefined;
      this.opts.listener.onAck?.(this, st.type, f.version, this.opts.clock.now() - f.sentAt);
    } else {
      // The proxy keeps its last good config. `known` stays as sent, so the same bad version is
      // not sent again; a later change of the resource is.
      st.nack = { version: f.version, message: errorMessage, at: this.opts.clock.now(), generation: f.generation };
      this.opts.listener.onNack?.(this, st.type, f.version, errorMessage);
    }
    return true;
  }

  private holdersBusy(): boolean {
    return HOLDERS.some((t) => {
      const s = this.types.get(t);
      return !!s && (!!s.inflight || s.dirty || s.mustRespond);
    });
  }

  private pumping = false;
  private pumpAgain = false;
  /** Sends, in push order, every due response whose type has nothing in flight. */
  protected async pump(): Promise<void> {
    if (this.pumping) { this.pumpAgain = true; return; }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const snap = this.snapshot;
        if (!snap || this.closed) return;
        for (const type of PUSH_ORDER) {
          const st = this.types.get(type);
          if (!st || st.inflight) continue;
          if (!st.dirty && !st.mustRespond && !(st.removalsHeld && !this.holdersBusy())) continue;
          const allowRemovals = !HELD.has(type) || !this.holdersBusy();
          st.dirty = false;
          st.removalsHeld = false;
          const built = this.build(st, snap, allowRemovals);
          if (HELD.has(type) && !allowRemovals) st.removalsHeld = this.hasRemovals(st, snap);
          st.mustRespond = false;
          if (!built) continue;
          await this.send(st, built, snap.generation);
          if (this.closed) return;
        }
        // A held removal whose holders just became idle (nothing sent above) goes now.
        if (!this.pumpAgain && !this.holdersBusy() && [...HELD].some((t) => this.types.get(t)?.removalsHeld && !this.types.get(t)?.inflight)) this.pumpAgain = true;
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.checkApplied();
  }

  /** Whether the proxy holds something of this type that is no longer in the snapshot. */
  protected abstract hasRemovals(st: TypeState, snap: Snapshot): boolean;

  private async send(st: TypeState, built: BuiltResponse, generation: number): Promise<void> {
    const nonce = built.nonce;
    st.lastNonce = nonce;
    const f: InFlight = { nonce, version: built.version, generation, sentAt: this.opts.clock.now() };
    st.inflight = f;
    st.lastSentVersion = built.version;
    if (this.opts.ackTimeoutMs > 0) {
      f.timer = this.opts.clock.setTimeout(() => {
        if (st.inflight !== f || this.closed) return;
        // No ACK in time: stop waiting (the proxy may be slow or gone) and let the next push go.
        st.inflight = undefined;
        st.timedOut = f;
        this.opts.listener.onAckTimeout?.(this, st.type);
        void this.pump();
      }, this.opts.ackTimeoutMs);
    }
    this.opts.listener.onSent?.(this, st.type, built.bytes, built.resources, built.removed);
    await this.write(built.wire);
  }

  /**
   * True when nothing is in flight, due or held, the last response of every type was ACKed, and
   * the proxy has asked for every type its snapshot has resources of (a proxy that has not yet
   * subscribed to routes does not run the routes).
   */
  isApplied(): boolean {
    const snap = this.snapshot;
    if (!snap) return false;
    for (const t of PUSH_ORDER) if (snap.entries(t).size > 0 && !this.types.has(t)) return false;
    for (const st of this.types.values()) {
      if (st.inflight || st.timedOut || st.dirty || st.mustRespond || st.removalsHeld || st.nack) return false;
    }
    return true;
  }

  protected checkApplied(): void {
    if (this.closed || !this.snapshot) return;
    if (this.isApplied() && this.appliedGeneration !== this.snapshot.generation) {
      this.appliedGeneration = this.snapshot.generation;
      this.opts.listener.onApplied?.(this, this.appliedGeneration);
    }
  }

  /** The NACKs currently standing (type → nack). */
  nacks(): Map<string, Nack> {
    const out = new Map<string, Nack>();
    for (const st of this.types.values()) if (st.nack) out.set(st.type, st.nack);
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const st of this.types.values()) if (st.inflight?.timer) this.opts.clock.clearTimeout(st.inflight.timer);
  }
}
