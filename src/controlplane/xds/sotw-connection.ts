/**
 * State-of-the-world ADS (StreamAggregatedResources): every response carries the full set of
 * resources of its type that the proxy subscribed to, with a version_info (a hash of the names and
 * versions it carries) and a nonce.
 *
 * Request handling, per the xDS protocol:
 * - `resource_names` is the subscription. Empty on LDS/CDS (or containing `*`) is wildcard: every
 *   resource of the type in the proxy's scope. Empty on EDS/RDS means none.
 * - A request whose response_nonce is the in-flight response's nonce is its ACK (no error_detail)
 *   or NACK (error_detail; the proxy keeps its previous config and the same content is not sent
 *   again). A request with any other nonce is stale: it is not an ACK or NACK, but its
 *   resource_names still replace the subscription.
 * - A request without a nonce (the first for a type, or after a reconnect) is always answered.
 */
import { TypeUrl } from '../../xds/protos.ts';
import { BuiltResponse, ConnectionOptions, ProxyConnection, TypeState } from './proxy-connection.ts';
import { contentVersion, type Snapshot, type SnapshotEntry } from './snapshot.ts';
import type { ProxyInfo } from './node-info.ts';
import type { StreamWriter } from './stream-writer.ts';
import { encodeSotw, sharedResponse } from './wire.ts';

const WILDCARD_TYPES = new Set<string>([TypeUrl.Listener, TypeUrl.Cluster]);

export interface SotwRequest {
  version_info?: string;
  node?: unknown;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

export class SotwConnection extends ProxyConnection {
  readonly protocol = 'sotw' as const;
  private readonly writer: StreamWriter;
  /** Per type, the entries of the last response (so held-back clusters can be re-sent as they were). */
  private readonly sent = new Map<string, Map<string, SnapshotEntry>>();

  constructor(proxy: ProxyInfo, writer: StreamWriter, opts: ConnectionOptions) {
    super(proxy, opts);
    this.writer = writer;
  }

  async handle(req: SotwRequest): Promise<void> {
    const type = req.type_url ?? '';
    const st = this.typeState(type);
    const names = (req.resource_names ?? []).filter((n) => n !== '');
    const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(type));
    const explicit = new Set(names.filter((n) => n !== '*'));
    const subChanged = wildcard !== st.wildcard || explicit.size !== st.names.size || [...explicit].some((n) => !st.names.has(n));
    st.wildcard = wildcard;
    st.names = explicit;

    const nonce = req.response_nonce ?? '';
    if (nonce === '') {
      st.mustRespond = true;
    } else {
      const error = req.error_detail && (req.error_detail.message || req.error_detail.code) ? (req.error_detail.message || `code ${req.error_detail.code}`) : undefined;
      this.settle(st, nonce, error); // false = stale nonce: not an ACK/NACK; the subscription above still counts
    }
    if (subChanged) {
      st.dirty = true;
      st.settledOn = undefined;
      this.opts.listener.onSubscription?.(this, type);
    }
    await this.pump();
  }

  protected hasRemovals(st: TypeState, snap: Snapshot): boolean {
    const entries = snap.entries(st.type);
    for (const name of st.known.keys()) if (!entries.has(name)) return true;
    return false;
  }

  protected build(st: TypeState, snap: Snapshot, allowRemovals: boolean): BuiltResponse | undefined {
    const entries = snap.entries(st.type);
    if (st.settledOn === entries && !st.mustRespond) return undefined;
    const target = new Map<string, SnapshotEntry>();
    if (st.wildcard) {
      for (const [name, e] of entries) target.set(name, e);
    } else {
      for (const name of st.names) {
        const e = entries.get(name);
        if (e) target.set(name, e);
      }
    }
    const previous = this.sent.get(st.type);
    if (!allowRemovals && previous) {
      for (const [name, e] of previous) if (!target.has(name) && (st.wildcard || st.names.has(name))) target.set(name, e);
    }
    const sorted = [...target.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const version = sorted.length === 0 ? 'empty' : contentVersion(sorted.map((e) => `${e.name}\u0000${e.version}`).join('\u0001'));
    st.settledOn = allowRemovals ? entries : undefined;
    if (!st.mustRespond && version === st.lastSentVersion) return undefined;

    let bytes = 0;
    for (const e of sorted) bytes += e.value.length;
    let removed = 0;
    for (const name of st.known.keys()) if (!target.has(name)) removed++;
    st.known = new Map(sorted.map((e) => [e.name, e.version]));
    this.sent.set(st.type, target);
    const { bytes: wire, nonce } = sharedResponse(snap, `sotw|${st.type}|${version}`, sorted, [], st.lastNonce, (n) => encodeSotw({ version, typeUrl: st.type, resources: sorted }, n));
    return { wire, nonce, version, bytes, resources: sorted.length, removed };
  }

  protected write(message: Buffer): Promise<void> {
    return this.writer.write(message);
  }
}
