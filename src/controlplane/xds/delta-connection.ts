/**
 * Incremental ADS (DeltaAggregatedResources): responses carry only resources whose version the
 * proxy does not have, plus the names it must drop.
 *
 * - Subscriptions: resource_names_subscribe / resource_names_unsubscribe; `*` is the wildcard;
 *   a first request for a type with no names is the legacy wildcard. Unsubscribing forgets what
 *   the proxy had, so subscribing again re-sends it.
 * - A subscribed name that does not exist is answered in removed_resources (once).
 * - Reconnect: the first request's initial_resource_versions tell what the proxy already has;
 *   only resources with another version are sent, and names that are gone are removed.
 * - response_nonce equal to the in-flight nonce: ACK, or NACK with error_detail (the proxy keeps
 *   its last good config; the bad version is not sent again). Any other nonce is stale and not
 *   an ACK/NACK, but its subscribe/unsubscribe lists are honoured.
 * - Versions are content hashes (per resource); system_version_info is the pipeline generation.
 */
import { BuiltResponse, ConnectionOptions, ProxyConnection, TypeState } from './proxy-connection.ts';
import { changesBetween, type Snapshot, type SnapshotEntry, type TypeEntries } from './snapshot.ts';
import { encodeDelta, sharedResponse } from './wire.ts';
import type { ProxyInfo } from './node-info.ts';
import type { StreamWriter } from './stream-writer.ts';

export interface DeltaRequest {
  node?: unknown;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

const ABSENT = '';

export class DeltaConnection extends ProxyConnection {
  readonly protocol = 'delta' as const;
  private readonly writer: StreamWriter;

  constructor(proxy: ProxyInfo, writer: StreamWriter, opts: ConnectionOptions) {
    super(proxy, opts);
    this.writer = writer;
  }

  async handle(req: DeltaRequest): Promise<void> {
    const type = req.type_url ?? '';
    const first = this.stateOf(type) === undefined;
    const st = this.typeState(type);
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    let changed = false;
    let wildcardChanged = false;
    if (first) {
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) st.known.set(name, String(version));
      if (subscribe.length === 0) st.wildcard = true;
      st.mustRespond = true;
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      const error = req.error_detail && (req.error_detail.message || req.error_detail.code) ? (req.error_detail.message || `code ${req.error_detail.code}`) : undefined;
      this.settle(st, nonce, error); // stale nonce → not an ACK/NACK; subscriptions below still apply
    }
    for (const name of subscribe) {
      if (name === '*') { if (!st.wildcard) { st.wildcard = true; changed = wildcardChanged = true; } continue; }
      if (!st.names.has(name)) {
        st.names.add(name);
        changed = true;
        (st.added ??= new Set()).add(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') { if (st.wildcard) { st.wildcard = false; changed = wildcardChanged = true; } continue; }
      if (st.names.delete(name)) changed = true;
      st.added?.delete(name);
      if (!st.wildcard) { st.known.delete(name); st.heldRemovals?.delete(name); }
    }
    if (wildcardChanged && !st.wildcard) {
      // Forget what the proxy had of names it is no longer subscribed to (wildcard covered all).
      for (const name of [...st.known.keys()]) if (!st.names.has(name)) { st.known.delete(name); st.heldRemovals?.delete(name); }
    }
    if (changed || first) {
      st.dirty = true;
      // Names added or dropped one by one keep the connection's place (the next build answers the
      // added names on top of what changed); the wildcard turning on or off needs a full comparison.
      if (first || wildcardChanged) st.settledOn = undefined;
      this.opts.listener.onSubscription?.(this, type);
    }
    await this.pump();
  }

  private covered(st: TypeState, name: string): boolean {
    return st.wildcard || st.names.has(name);
  }

  protected hasRemovals(st: TypeState, _snap: Snapshot): boolean {
    return (st.heldRemovals?.size ?? 0) > 0;
  }

  protected build(st: TypeState, snap: Snapshot, allowRemovals: boolean): BuiltResponse | undefined {
    const entries = snap.entries(st.type);
    const held = st.heldRemovals;
    if (st.settledOn === entries && !st.mustRespond && !st.added?.size && !(allowRemovals && held?.size)) return undefined;
    const resources: SnapshotEntry[] = [];
    const removed: string[] = [];
    const nowHeld = new Set<string>();
    let bytes = 0;
    const consider = (name: string): void => {
      const e = entries.get(name);
      if (!e) return;
      if (st.known.get(name) === e.version) return;
      resources.push(e);
      bytes += e.value.length;
      st.known.set(name, e.version);
    };
    /** A name the proxy may hold that is not in the snapshot: removed now, or held (HELD types while routes are unACKed). */
    const gone = (name: string): void => {
      if (entries.has(name)) return;
      const v = st.known.get(name);
      if (v === undefined || v === ABSENT) return;
      if (!allowRemovals) { nowHeld.add(name); return; }
      removed.push(name);
      if (st.names.has(name)) st.known.set(name, ABSENT);
      else st.known.delete(name);
    };
    /** An explicitly subscribed name the scope does not have: tell the proxy once that it does not exist. */
    const absent = (name: string): void => {
      if (!entries.has(name) && !st.known.has(name)) { removed.push(name); st.known.set(name, ABSENT); }
    };
    // The proxy was last brought up to date with `settledOn` (removals held aside): when the
    // current entries descend from it, only the names the builds since then touched, the names
    // just subscribed and the held removals can be due — O(changes), not O(names it holds).
    const since = st.settledOn ? changesBetween(st.settledOn as TypeEntries, entries) : undefined;
    if (since) {
      for (const name of since.changed) if (this.covered(st, name)) consider(name);
      for (const name of st.added ?? []) { consider(name); absent(name); }
      for (const name of held ?? []) gone(name);
      for (const name of since.removed) gone(name);
    } else {
      if (st.wildcard) for (const name of entries.keys()) consider(name);
      else for (const name of st.names) consider(name);
      for (const name of [...st.known.keys()]) gone(name);
      for (const name of st.names) absent(name);
    }
    st.added = undefined;
    st.heldRemovals = nowHeld.size > 0 ? nowHeld : undefined;
    st.settledOn = entries;
    if (resources.length === 0 && removed.length === 0 && !st.mustRespond) return undefined;
    const version = String(snap.generation);
    const content = { systemVersion: version, typeUrl: st.type, resources, removed };
    const { bytes: wire, nonce } = sharedResponse(snap, st.type, resources, removed, st.lastNonce, (n) => encodeDelta(content, n));
    return { wire, nonce, version, bytes, resources: resources.length, removed: removed.length };
  }

  protected write(message: Buffer): Promise<void> {
    return this.writer.write(message);
  }
}
