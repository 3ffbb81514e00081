/**
 * The proxy's ADS client over @grpc/grpc-js: one bidirectional stream carrying every resource
 * type, Delta (preferred) or State-of-the-World. It subscribes (wildcard for CDS/LDS, by name for
 * EDS/RDS/SDS), hands decoded resources to a handler that validates and applies them, ACKs or
 * NACKs with the handler's error text, and reconnects with backoff to any listed control replica,
 * sending initial_resource_versions so an unchanged configuration is not re-sent.
 *
 * Liveness (DESIGN.md: a dead control plane must be noticed in seconds, not TCP's 16 minutes):
 *  - gRPC keepalive pings every keepaliveMs (10 s) with keepaliveTimeoutMs (5 s) to ack, which
 *    catches a peer that stops answering on an established connection;
 *  - an application check: a stream that received nothing at all within livenessTimeoutMs (15 s)
 *    of its first request is declared dead, which catches a server that accepts connections (or
 *    streams) and never answers. Either way the stream is torn down and re-opened elsewhere.
 * While disconnected the handler's last good configuration keeps serving: nothing is cleared.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock, Timer } from '../../lib/clock.ts';
import { backoffDelay } from '../../lib/backoff.ts';
import type { Rng } from '../../lib/rng.ts';
import { log } from '../../lib/log.ts';
import { adsService, fromAny, TypeUrl, VHDS_CLIENT_FEATURE } from '../../xds/protos.ts';
import { toStruct } from './struct.ts';

/** `bytes` is the resource's protobuf encoding, kept instead of the decoded object for /config_dump (far smaller). */
export interface DecodedResource { name: string; version: string; resource: Record<string, any>; bytes: Uint8Array }
export interface XdsUpdate { typeUrl: string; upserts: DecodedResource[]; removals: string[]; decodeErrors: string[]; versionInfo: string }

/** What the handler did with an update: names it refused (their previous version keeps serving) and why. */
export interface XdsResult { rejected: ReadonlySet<string>; error?: string }
export interface XdsHandler {
  /** Applies what is valid; reports what is not (any error → NACK with its text as error_detail). */
  onUpdate(u: XdsUpdate): XdsResult;
  onConnectionChange?(connected: boolean): void;
}

export interface AdsClientOptions {
  addresses: string[];
  node: { id: string; cluster: string; metadata: Record<string, unknown> };
  delta: boolean;
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  livenessTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  clock: Clock;
  rng: Rng;
  handler: XdsHandler;
}

export interface AdsClientStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  livenessFailures: number;
  updatesAccepted: number;
  updatesRejected: number;
  currentServer?: string;
}

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** Accepted version per resource (delta: server's per-resource versions; SotW: version_info). */
  versions: Map<string, string>;
  versionInfo: string;
  nonce: string;
  /** Names whose subscription must be (re)sent on the next request. */
  pendingSub: Set<string>;
  pendingUnsub: Set<string>;
  started: boolean;
}

const nameOf = (typeUrl: string, r: Record<string, any>): string => (typeUrl === TypeUrl.ClusterLoadAssignment ? r.cluster_name : r.name) ?? '';

export class AdsClient {
  private readonly types = new Map<string, TypeState>();
  private client?: grpc.Client;
  private call?: grpc.ClientDuplexStream<any, any>;
  private attempt = 0;
  private serverIndex = 0;
  private reconnectTimer?: Timer;
  private livenessTimer?: Timer;
  private gotResponse = false;
  private stopped = true;
  private nodeSent = false;
  readonly stats: AdsClientStats = { connected: false, connects: 0, disconnects: 0, livenessFailures: 0, updatesAccepted: 0, updatesRejected: 0 };

  constructor(private readonly o: AdsClientOptions) {}

  /** Declares interest: '*' for every resource of the type, or the exact set of names wanted. */
  subscribe(typeUrl: string, names: '*' | Iterable<string>): void {
    let st = this.types.get(typeUrl);
    if (!st) {
      st = { wildcard: names === '*', names: new Set(), versions: new Map(), versionInfo: '', nonce: '', pendingSub: new Set(), pendingUnsub: new Set(), started: false };
      this.types.set(typeUrl, st);
    }
    if (names === '*') {
      st.wildcard = true;
    } else {
      const next = new Set(names);
      for (const n of next) if (!st.names.has(n)) { st.pendingSub.add(n); st.pendingUnsub.delete(n); }
      for (const n of st.names) if (!next.has(n)) { st.pendingUnsub.add(n); st.pendingSub.delete(n); st.versions.delete(n); }
      const changed = st.pendingSub.size > 0 || st.pendingUnsub.size > 0;
      st.names = next;
      if (!changed) return;
    }
    if (this.call) this.sendSubscription(typeUrl, st);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) this.o.clock.clearTimeout(this.reconnectTimer);
    this.teardown('stopped');
  }

  get connected(): boolean { return this.stats.connected; }

  private connect(): void {
    if (this.stopped) return;
    const address = this.o.addresses[this.serverIndex % this.o.addresses.length]!;
    this.stats.currentServer = address;
    const { Client } = adsService();
    this.client = new Client(address, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': this.o.keepaliveMs,
      'grpc.keepalive_timeout_ms': this.o.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': this.o.reconnectBaseMs,
      'grpc.max_reconnect_backoff_ms': this.o.reconnectMaxMs,
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      // Own subchannels: closing this client must really drop a dead connection, not leave it pooled.
      'grpc.use_local_subchannel_pool': 1,
    });
    const method = this.o.delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources';
    const call = (this.client as any)[method]() as grpc.ClientDuplexStream<any, any>;
    this.call = call;
    this.nodeSent = false;
    this.gotResponse = false;
    call.on('data', (msg: any) => { if (this.call === call) this.onResponse(msg); });
    call.on('error', (e: grpc.ServiceError) => { if (this.call === call) this.onStreamEnd(`stream error: ${e.code} ${e.details ?? e.message}`); });
    call.on('end', () => { if (this.call === call) this.onStreamEnd('stream closed by server'); });
    for (const st of this.types.values()) { st.started = false; st.nonce = ''; }
    for (const [typeUrl, st] of this.types) this.sendSubscription(typeUrl, st);
    this.livenessTimer = this.o.clock.setTimeout(() => {
      if (this.call === call && !this.gotResponse) {
        this.stats.livenessFailures++;
        log.warn({ server: address, timeoutMs: this.o.livenessTimeoutMs }, 'xds server accepted the stream but sent nothing; reconnecting');
        this.onStreamEnd('liveness timeout');
      }
    }, this.o.livenessTimeoutMs);
  }

  private nodeField(): object | undefined {
    if (this.nodeSent) return undefined;
    this.nodeSent = true;
    const n = this.o.node;
    // Over delta the proxy takes its virtual hosts over VHDS when the server offers them that way.
    return { id: n.id, cluster: n.cluster, metadata: toStruct(n.metadata), user_agent_name: 'sluice', client_features: this.o.delta ? [VHDS_CLIENT_FEATURE] : [] };
  }

  private sendSubscription(typeUrl: string, st: TypeState): void {
    if (!this.call) return;
    if (this.o.delta) {
      let subscribe: string[];
      let unsubscribe: string[] = [];
      const req: Record<string, unknown> = { type_url: typeUrl };
      if (!st.started) {
        subscribe = st.wildcard ? [] : [...st.names];
        req.initial_resource_versions = Object.fromEntries(st.versions);
        st.started = true;
      } else {
        subscribe = [...st.pendingSub];
        unsubscribe = [...st.pendingUnsub];
        if (subscribe.length === 0 && unsubscribe.length === 0) return;
      }
      st.pendingSub.clear();
      st.pendingUnsub.clear();
      req.resource_names_subscribe = subscribe;
      req.resource_names_unsubscribe = unsubscribe;
      const node = this.nodeField();
      if (node) req.node = node;
      this.call.write(req);
    } else {
      st.pendingSub.clear();
      st.pendingUnsub.clear();
      st.started = true;
      this.writeSotw(typeUrl, st, undefined);
    }
  }

  private writeSotw(typeUrl: string, st: TypeState, errorDetail: string | undefined): void {
    const req: Record<string, unknown> = {
      type_url: typeUrl,
      version_info: st.versionInfo,
      resource_names: st.wildcard ? [] : [...st.names],
      response_nonce: st.nonce,
    };
    if (errorDetail) req.error_detail = { code: 3, message: errorDetail };
    const node = this.nodeField();
    if (node) req.node = node;
    this.call!.write(req);
  }

  private onResponse(msg: any): void {
    if (!this.gotResponse) {
      this.gotResponse = true;
      this.attempt = 0;
      if (!this.stats.connected) {
        this.stats.connected = true;
        this.stats.connects++;
        log.info({ server: this.stats.currentServer }, 'xds connected');
        this.o.handler.onConnectionChange?.(true);
      }
    }
    const typeUrl: string = msg.type_url;
    const st = this.types.get(typeUrl);
    if (!st) return;
    const decodeErrors: string[] = [];
    const upserts: DecodedResource[] = [];
    const removals: string[] = [];
    const kind = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
    if (this.o.delta) {
      for (const [i, r] of (msg.resources ?? []).entries()) {
        try {
          if (!r.resource) throw new Error('resource is empty');
          const obj = fromAny(r.resource);
          upserts.push({ name: r.name || nameOf(typeUrl, obj), version: r.version ?? '', resource: obj, bytes: r.resource.value });
        } catch (e) {
          decodeErrors.push(`${kind} ${JSON.stringify(r.name ?? `#${i}`)}: cannot decode: ${(e as Error).message}`);
        }
      }
      removals.push(...(msg.removed_resources ?? []));
    } else {
      const seen = new Set<string>();
      for (const [i, any] of (msg.resources ?? []).entries()) {
        try {
          const obj = fromAny(any);
          const name = nameOf(typeUrl, obj);
          seen.add(name);
          upserts.push({ name, version: msg.version_info ?? '', resource: obj, bytes: any.value });
        } catch (e) {
          decodeErrors.push(`${kind} #${i}: cannot decode: ${(e as Error).message}`);
        }
      }
      // SotW: absence means removal only for the wildcard types (LDS/CDS); for EDS/RDS/SDS
      // a resource goes away when we stop asking for it.
      if (decodeErrors.length === 0 && (typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster)) {
        for (const n of st.versions.keys()) if (!seen.has(n)) removals.push(n);
      }
    }
    const result = this.o.handler.onUpdate({ typeUrl, upserts, removals, decodeErrors, versionInfo: msg.version_info ?? msg.system_version_info ?? '' });
    const error = [...decodeErrors, ...(result.error ? [result.error] : [])].join('; ') || undefined;
    // Versions of what was accepted (the handler applies valid resources even when it NACKs others).
    const rejected = result.rejected;
    for (const u of upserts) if (!rejected.has(u.name)) st.versions.set(u.name, u.version);
    for (const n of removals) st.versions.delete(n);
    st.nonce = msg.nonce ?? '';
    if (error) this.stats.updatesRejected++;
    else this.stats.updatesAccepted++;
    if (this.o.delta) {
      const req: Record<string, unknown> = { type_url: typeUrl, response_nonce: st.nonce };
      if (error) req.error_detail = { code: 3, message: error };
      this.call!.write(req);
    } else {
      if (!error) st.versionInfo = msg.version_info ?? '';
      this.writeSotw(typeUrl, st, error);
    }
  }

  private teardown(reason: string): void {
    if (this.livenessTimer) this.o.clock.clearTimeout(this.livenessTimer);
    const call = this.call;
    this.call = undefined;
    if (call) { try { call.cancel(); } catch { /* already closed */ } }
    this.client?.close();
    this.client = undefined;
    if (this.stats.connected) {
      this.stats.connected = false;
      this.stats.disconnects++;
      log.warn({ reason }, 'xds disconnected; serving the last good configuration');
      this.o.handler.onConnectionChange?.(false);
    }
  }

  private onStreamEnd(reason: string): void {
    this.teardown(reason);
    if (this.stopped) return;
    this.serverIndex++;
    const delay = backoffDelay(this.attempt++, { baseMs: this.o.reconnectBaseMs, maxMs: this.o.reconnectMaxMs, jitter: 0.2, rng: this.o.rng });
    log.debug({ reason, delay }, 'xds reconnect scheduled');
    this.reconnectTimer = this.o.clock.setTimeout(() => this.connect(), delay);
  }
}
