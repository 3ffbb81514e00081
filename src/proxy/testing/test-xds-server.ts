/**
 * A small ADS server for the proxy's tests: serves both StreamAggregatedResources (SotW) and
 * DeltaAggregatedResources with whatever resources a test sets, records every request (so tests
 * can read ACKs and NACKs with their error_detail), and can go silently dead: `freeze()` keeps
 * accepting TCP connections and keeps existing ones open but never forwards a byte, like a
 * control plane that hangs; `thaw()` brings it back. It sits behind a TCP relay to do that.
 * Not the control plane's server (src/controlplane/): no debounce, no flow control, no scoping.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { adsService, toAny, type ResourceTypeUrl, TypeUrl } from '../../xds/protos.ts';

export interface RecordedRequest {
  delta: boolean;
  typeUrl: string;
  nonce: string;
  versionInfo?: string;
  names: string[];
  unsubscribe: string[];
  initialVersions: Record<string, string>;
  errorDetail?: string;
  nodeId?: string;
}

interface Stream { delta: boolean; call: grpc.ServerDuplexStream<any, any>; subs: Map<string, { wildcard: boolean; names: Set<string>; sent: Map<string, string> }> }

const nameOf = (typeUrl: string, r: any): string => (typeUrl === TypeUrl.ClusterLoadAssignment ? r.cluster_name : r.name);

export class TestXdsServer {
  readonly requests: RecordedRequest[] = [];
  private readonly resources = new Map<string, Map<string, { version: string; obj: object }>>();
  private readonly streams = new Set<Stream>();
  private server = new grpc.Server();
  private relay?: net.Server;
  private relaySockets = new Set<net.Socket>();
  private frozen = false;
  private grpcPort = 0;
  port = 0;
  private nonce = 0;
  /** Every response pushed, in order (tests wait for the ACK/NACK carrying one of them). */
  readonly pushes: { typeUrl: string; nonce: string }[] = [];
  private version = 0;
  /** Called on every request (tests wait on it). */
  onRequest: (r: RecordedRequest) => void = () => {};

  async start(port = 0): Promise<void> {
    const { service } = adsService();
    this.server.addService(service, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<any, any>) => this.serve(call, false),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<any, any>) => this.serve(call, true),
    });
    this.grpcPort = await new Promise<number>((res, rej) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    this.relay = net.createServer((down) => {
      this.relaySockets.add(down);
      const up = net.connect(this.grpcPort, '127.0.0.1');
      this.relaySockets.add(up);
      const kill = () => { down.destroy(); up.destroy(); this.relaySockets.delete(down); this.relaySockets.delete(up); };
      down.on('data', (b) => { if (!this.frozen) up.write(b); });
      up.on('data', (b) => { if (!this.frozen) down.write(b); });
      down.on('error', kill).on('close', kill);
      up.on('error', kill).on('close', kill);
    });
    await new Promise<void>((res) => this.relay!.listen(port, '127.0.0.1', () => res()));
    this.port = (this.relay.address() as net.AddressInfo).port;
  }

  get address(): string { return `127.0.0.1:${this.port}`; }

  /** Stops answering: bytes are swallowed in both directions; connections stay open and new ones are accepted. */
  freeze(): void { this.frozen = true; }
  thaw(): void { this.frozen = false; }
  /** Drops every client connection (the client must reconnect). */
  dropConnections(): void { for (const s of this.relaySockets) s.destroy(); }

  /** Replaces the resources of one type and pushes to every subscribed stream. `obj` values are Envoy plain objects. */
  set(typeUrl: ResourceTypeUrl, objs: object[]): string {
    const version = String(++this.version);
    const prev = this.resources.get(typeUrl) ?? new Map();
    const next = new Map<string, { version: string; obj: object }>();
    for (const o of objs) {
      const n = nameOf(typeUrl, o);
      const old = prev.get(n);
      next.set(n, old && JSON.stringify(old.obj) === JSON.stringify(o) ? old : { version, obj: o });
    }
    this.resources.set(typeUrl, next);
    for (const s of this.streams) this.push(s, typeUrl);
    return version;
  }

  /** Sets or replaces single resources without touching the others of the type. */
  upsert(typeUrl: ResourceTypeUrl, objs: object[]): string {
    const cur = [...(this.resources.get(typeUrl)?.values() ?? [])].map((r) => r.obj);
    const names = new Set(objs.map((o) => nameOf(typeUrl, o)));
    return this.set(typeUrl, [...cur.filter((o) => !names.has(nameOf(typeUrl, o))), ...objs]);
  }

  connectedStreams(): number { return this.streams.size; }

  async stop(): Promise<void> {
    for (const s of this.streams) s.call.end();
    this.streams.clear();
    for (const s of this.relaySockets) s.destroy();
    await new Promise<void>((res) => (this.relay ? this.relay.close(() => res()) : res()));
    this.server.forceShutdown();
  }

  private serve(call: grpc.ServerDuplexStream<any, any>, delta: boolean): void {
    const s: Stream = { delta, call, subs: new Map() };
    this.streams.add(s);
    const done = () => this.streams.delete(s);
    call.on('end', () => { done(); call.end(); });
    call.on('error', done);
    call.on('cancelled', done);
    call.on('data', (req: any) => {
      const rec: RecordedRequest = {
        delta,
        typeUrl: req.type_url,
        nonce: req.response_nonce ?? '',
        versionInfo: delta ? undefined : req.version_info,
        names: delta ? [...(req.resource_names_subscribe ?? [])] : [...(req.resource_names ?? [])],
        unsubscribe: delta ? [...(req.resource_names_unsubscribe ?? [])] : [],
        initialVersions: delta ? { ...(req.initial_resource_versions ?? {}) } : {},
        errorDetail: req.error_detail?.message || undefined,
        nodeId: req.node?.id || undefined,
      };
      this.requests.push(rec);
      this.onRequest(rec);
      let sub = s.subs.get(rec.typeUrl);
      const fresh = !sub;
      if (!sub) {
        sub = { wildcard: false, names: new Set(), sent: new Map(Object.entries(rec.initialVersions)) };
        s.subs.set(rec.typeUrl, sub);
      }
      if (delta) {
        if (fresh && rec.names.length === 0) sub.wildcard = true;
        for (const n of rec.names) (n === '*' ? (sub.wildcard = true) : sub.names.add(n));
        for (const n of rec.unsubscribe) { sub.names.delete(n); sub.sent.delete(n); if (n === '*') sub.wildcard = false; }
        if (rec.names.length > 0 || fresh) this.push(s, rec.typeUrl, new Set(rec.names));
      } else {
        const before = [...sub.names].sort().join(',');
        sub.wildcard = rec.names.length === 0 && (rec.typeUrl === TypeUrl.Listener || rec.typeUrl === TypeUrl.Cluster);
        sub.names = new Set(rec.names);
        if (fresh || before !== [...sub.names].sort().join(',')) this.push(s, rec.typeUrl);
      }
    });
  }

  private push(s: Stream, typeUrl: string, forceNames?: Set<string>): void {
    const sub = s.subs.get(typeUrl);
    if (!sub) return;
    const all = this.resources.get(typeUrl) ?? new Map();
    const wanted = (n: string) => sub.wildcard || sub.names.has(n);
    const nonce = String(++this.nonce);
    this.pushes.push({ typeUrl, nonce });
    if (s.delta) {
      const resources: any[] = [];
      for (const [n, r] of all) {
        if (!wanted(n)) continue;
        if (sub.sent.get(n) === r.version && !forceNames?.has(n)) continue;
        sub.sent.set(n, r.version);
        resources.push({ name: n, version: r.version, resource: toAny(typeUrl, r.obj) });
      }
      const removed: string[] = [];
      for (const n of [...sub.sent.keys()]) if (!all.has(n)) { removed.push(n); sub.sent.delete(n); }
      if (resources.length === 0 && removed.length === 0 && !forceNames) return;
      s.call.write({ type_url: typeUrl, system_version_info: String(this.version), resources, removed_resources: removed, nonce });
    } else {
      const resources = [...all].filter(([n]) => wanted(n)).map(([, r]) => toAny(typeUrl, r.obj));
      s.call.write({ type_url: typeUrl, version_info: String(this.version), resources, nonce });
    }
  }
}
