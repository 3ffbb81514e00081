/**
 * A minimal ADS client that plays a proxy: opens a SotW or Delta stream, sends requests, keeps
 * what it was given (per type: name → version and bytes), and ACKs (or, when told to, NACKs)
 * each response like Envoy does. Used by the protocol tests and by bench/push.ts to simulate
 * many proxies over real gRPC; it is not the sluice proxy's xDS client.
 */
import * as grpc from '@grpc/grpc-js';
import { adsService, envoyRoot } from '../../xds/protos.ts';

export type Protocol = 'sotw' | 'delta';
export interface NodeSpec { id: string; metadata?: Record<string, string>; clientFeatures?: string[] }

export interface ReceivedResponse {
  type_url: string;
  nonce: string;
  version_info?: string;
  system_version_info?: string;
  resources: { name?: string; version?: string; type_url?: string; value?: Buffer; resource?: { type_url: string; value: Buffer } }[];
  removed_resources?: string[];
  /** Receive time (ms, performance clock of this process). */
  at: number;
  bytes: number;
}

export interface TestClientOptions {
  /** ACK every response automatically (default true). */
  autoAck?: boolean;
  /** Decide per response whether to NACK it (message) or ACK it (undefined). */
  nackIf?: (r: ReceivedResponse) => string | undefined;
  onResponse?: (r: ReceivedResponse) => void;
  /**
   * Decode responses to protobufjs messages without the plain-object conversion (same field
   * names; unset scalars read as their defaults). For many simulated proxies in one process.
   */
  fastDecode?: boolean;
  /** The stream ended (error or status), once. */
  onEnd?: () => void;
}

function toStruct(m: Record<string, string> | undefined): object | undefined {
  if (!m) return undefined;
  const fields: Record<string, object> = {};
  for (const [k, v] of Object.entries(m)) fields[k] = { stringValue: v, kind: 'stringValue' }; // Struct is a protobufjs well-known type: camelCase
  return { fields };
}

let fastClient: grpc.ServiceClientConstructor | undefined;
function fastDecodeClient(): grpc.ServiceClientConstructor {
  if (!fastClient) {
    const { service } = adsService();
    const defs: Record<string, grpc.MethodDefinition<any, any>> = {};
    for (const [name, def] of Object.entries(service)) {
      const t = envoyRoot().lookupType(name === 'DeltaAggregatedResources' ? 'envoy.service.discovery.v3.DeltaDiscoveryResponse' : 'envoy.service.discovery.v3.DiscoveryResponse');
      defs[name] = { ...def, responseDeserialize: (b: Buffer) => t.decode(b) };
    }
    fastClient = grpc.makeGenericClientConstructor(defs, 'AggregatedDiscoveryService');
  }
  return fastClient;
}

export class AdsTestClient {
  readonly protocol: Protocol;
  readonly node: NodeSpec;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<any, any>;
  private readonly opts: TestClientOptions;
  private readonly inbox: ReceivedResponse[] = [];
  private waiters: { type?: string; resolve: (r: ReceivedResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private sentNode = false;
  /** Per type: name → version the client holds (delta) / resources of the last response (SotW). */
  readonly have = new Map<string, Map<string, string>>();
  /** SotW: last ACKed version per type; subscription per type. */
  readonly versions = new Map<string, string>();
  readonly subscriptions = new Map<string, string[]>();
  readonly all: ReceivedResponse[] = [];
  ended: grpc.StatusObject | Error | undefined;
  private endNotified = false;

  constructor(address: string, protocol: Protocol, node: NodeSpec, opts: TestClientOptions = {}) {
    this.protocol = protocol;
    this.node = node;
    this.opts = { autoAck: true, ...opts };
    const Client = opts.fastDecode ? fastDecodeClient() : adsService().Client;
    // Own subchannel pool: each simulated proxy gets its own TCP connection, as real proxies have.
    this.client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.use_local_subchannel_pool': 1 });
    const c = this.client as unknown as Record<string, () => grpc.ClientDuplexStream<any, any>>;
    this.call = protocol === 'sotw' ? c.StreamAggregatedResources() : c.DeltaAggregatedResources();
    this.call.on('data', (r: any) => this.receive(r));
    const ended = (): void => { if (!this.endNotified) { this.endNotified = true; this.opts.onEnd?.(); } };
    this.call.on('error', (e: Error) => { this.ended = e; this.failWaiters(e); ended(); });
    this.call.on('status', (s: grpc.StatusObject) => { this.ended ??= s; ended(); });
  }

  private nodeField(): object | undefined {
    if (this.sentNode) return undefined;
    this.sentNode = true;
    return { id: this.node.id, metadata: toStruct(this.node.metadata), client_features: this.node.clientFeatures ?? [] };
  }

  /** SotW: subscribe `names` of `type` (empty = wildcard for LDS/CDS). */
  sotwRequest(type: string, names: string[], extra: { response_nonce?: string; version_info?: string; error_detail?: object } = {}): void {
    this.subscriptions.set(type, names);
    this.call.write({ node: this.nodeField(), type_url: type, resource_names: names, version_info: extra.version_info ?? this.versions.get(type) ?? '', response_nonce: extra.response_nonce ?? '', error_detail: extra.error_detail });
  }

  /** Delta: subscribe/unsubscribe, optionally with initial_resource_versions (first request of a type). */
  deltaRequest(type: string, subscribe: string[], unsubscribe: string[] = [], extra: { response_nonce?: string; initial?: Record<string, string>; error_detail?: object } = {}): void {
    this.call.write({ node: this.nodeField(), type_url: type, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe, initial_resource_versions: extra.initial ?? {}, response_nonce: extra.response_nonce ?? '', error_detail: extra.error_detail });
  }

  private receive(raw: any): void {
    let bytes = 0;
    for (const r of raw.resources ?? []) bytes += (r.value ?? r.resource?.value ?? Buffer.alloc(0)).length;
    const r: ReceivedResponse = { ...raw, at: performance.now(), bytes };
    const type = r.type_url;
    const nack = this.opts.nackIf?.(r);
    if (nack === undefined) {
      let have = this.have.get(type);
      if (!have) { have = new Map(); this.have.set(type, have); }
      if (this.protocol === 'delta') {
        for (const res of r.resources) have.set(res.name ?? '', res.version ?? '');
        for (const n of r.removed_resources ?? []) have.delete(n);
      } else {
        have.clear();
        for (const res of r.resources) have.set(String(res.value?.length ?? 0) + ':' + have.size, '');
        this.versions.set(type, r.version_info ?? '');
      }
    }
    if (this.opts.autoAck) {
      const error_detail = nack === undefined ? undefined : { code: 3, message: nack };
      if (this.protocol === 'sotw') this.sotwRequest(type, this.subscriptions.get(type) ?? [], { response_nonce: r.nonce, error_detail });
      else this.deltaRequest(type, [], [], { response_nonce: r.nonce, error_detail });
    }
    this.all.push(r);
    this.opts.onResponse?.(r);
    const i = this.waiters.findIndex((w) => w.type === undefined || w.type === type);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(r);
    } else {
      this.inbox.push(r);
    }
  }

  /** The next response (of `type`, if given), waiting up to `timeoutMs`. */
  next(type?: string, timeoutMs = 20_000): Promise<ReceivedResponse> {
    const i = this.inbox.findIndex((r) => type === undefined || r.type_url === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no ${type ?? 'xDS'} response for ${this.node.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ type, resolve, reject, timer });
    });
  }

  /** Resolves with no response if none arrives within `ms` (a negative test helper); rejects if one does. */
  async expectNone(type: string | undefined, ms: number): Promise<void> {
    try {
      const r = await this.next(type, ms);
      throw new Error(`unexpected ${r.type_url} response (${r.resources.length} resources, removed ${JSON.stringify(r.removed_resources ?? [])})`);
    } catch (e) {
      if ((e as Error).message.startsWith('no ')) return;
      throw e;
    }
  }

  pendingResponses(): number { return this.inbox.length; }

  private failWaiters(e: Error): void {
    for (const w of this.waiters) { clearTimeout(w.timer); w.reject(e); }
    this.waiters = [];
  }

  close(): void {
    this.call.cancel();
    this.client.close();
    this.failWaiters(new Error('closed'));
  }
}
