/**
 * The ADS gRPC server (envoy.service.discovery.v3.AggregatedDiscoveryService): both
 * StreamAggregatedResources (state of the world) and DeltaAggregatedResources on one port.
 *
 * Each stream becomes a ProxyConnection once its first request names the node; the listener
 * (the push pipeline) is told about connects and disconnects and hands connections snapshots.
 * Requests on one stream are handled strictly in order. Keepalive follows DESIGN.md's lesson:
 * 10 s pings, 5 s timeout, so a dead proxy's stream (and its readiness vote) goes away quickly.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { adsService, envoyRoot } from '../../xds/protos.ts';
import { realClock, type Clock } from '../../lib/clock.ts';
import { SluiceError, errorMessage, isSluiceError } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import { proxyInfoFromNode } from './node-info.ts';
import type { ConnectionListener, ProxyConnection } from './proxy-connection.ts';
import { SotwConnection, type SotwRequest } from './sotw-connection.ts';
import { DeltaConnection, type DeltaRequest } from './delta-connection.ts';
import { StreamWriter, type AdsCall } from './stream-writer.ts';

export interface AdsListener extends ConnectionListener {
  onConnect(conn: ProxyConnection): void;
  onDisconnect(conn: ProxyConnection): void;
}

export interface AdsServerOptions {
  host?: string;
  port?: number;
  clock?: Clock;
  /** Flow control: how long to wait for an ACK before sending the next response of a type. */
  ackTimeoutMs?: number;
  listener: AdsListener;
}

export const DEFAULT_ACK_TIMEOUT_MS = 5_000;

/**
 * The ADS service definition for the server side: responses the connections hand over already
 * encoded (a Buffer, see wire.ts) are written as they are; anything else is encoded as usual.
 */
export function adsServerService(): grpc.ServiceDefinition {
  const { service } = adsService();
  const out: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const [name, def] of Object.entries(service)) {
    const serialize = def.responseSerialize;
    const deserialize = def.requestDeserialize;
    const request = envoyRoot().lookupType(name === 'DeltaAggregatedResources' ? 'envoy.service.discovery.v3.DeltaDiscoveryRequest' : 'envoy.service.discovery.v3.DiscoveryRequest');
    out[name] = {
      ...def,
      responseSerialize: (m: unknown) => (Buffer.isBuffer(m) ? m : serialize(m)),
      // ACKs (a thousand per change) are read as decoded messages, without the plain-object
      // conversion (same field names; repeated and map fields present, unset scalars read as
      // their defaults). A request that names the node goes through the full conversion, which
      // node-info.ts reads (Struct metadata).
      requestDeserialize: (b: Buffer) => {
        const m = request.decode(b) as unknown as { node?: unknown };
        return m.node ? deserialize(b) : m;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

export class AdsServer {
  private readonly server: grpc.Server;
  private readonly opts: AdsServerOptions;
  private readonly clock: Clock;
  private readonly live = new Set<ProxyConnection>();
  private address: string | undefined;
  private listener: net.Server | undefined;
  private injector: grpc.ConnectionInjector | undefined;

  constructor(opts: AdsServerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    this.server.addService(adsServerService(), {
      StreamAggregatedResources: (call: AdsCall) => this.serve(call, 'sotw'),
      DeltaAggregatedResources: (call: AdsCall) => this.serve(call, 'delta'),
    });
  }

  /** Binds and starts serving; resolves to `host:port`. */
  async start(): Promise<string> {
    const host = this.opts.host ?? '127.0.0.1';
    const port = this.opts.port ?? 0;
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    // Our own listening socket with TCP_NODELAY, its connections handed to grpc-js: grpc-js leaves
    // Nagle's algorithm on for server sockets, and Nagle plus the proxy's delayed ACKs hold a
    // small push back by up to 40 ms — most of a push's latency on loopback.
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injector = injector;
    const listener = net.createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
    this.listener = listener;
    const bound = await new Promise<number>((resolve, reject) => {
      listener.once('error', (err) => reject(new SluiceError('SLUICE_E_XDS_BIND', `xDS server cannot listen on ${target}: ${err.message}; choose another --xds-port`, { cause: err })));
      listener.listen(port, host, () => resolve((listener.address() as net.AddressInfo).port));
    });
    this.address = host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`;
    return this.address;
  }

  get xdsAddress(): string | undefined { return this.address; }

  connections(): ProxyConnection[] { return [...this.live]; }

  async stop(): Promise<void> {
    for (const c of this.live) c.close();
    this.listener?.close();
    this.injector?.destroy();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.server.forceShutdown(); resolve(); }, 1_000);
      timer.unref();
      this.server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      // Open ADS streams never end on their own: cut them so shutdown completes promptly.
      this.server.forceShutdown();
    });
  }

  private serve(call: AdsCall, protocol: 'sotw' | 'delta'): void {
    let conn: SotwConnection | DeltaConnection | undefined;
    const writer = new StreamWriter(call);
    let chain: Promise<void> = Promise.resolve();
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      if (conn) {
        conn.close();
        this.live.delete(conn);
        this.opts.listener.onDisconnect(conn);
      }
    };
    const fail = (e: unknown): void => {
      const code = isSluiceError(e, 'SLUICE_E_XDS_NODE') ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
      log.warn({ err: errorMessage(e), proxy: conn?.proxy.id }, 'xds: stream failed');
      finish();
      call.emit('error', { code, details: errorMessage(e) });
    };
    call.on('data', (req: SotwRequest & DeltaRequest) => {
      chain = chain.then(async () => {
        if (ended) return;
        if (!conn) {
          const proxy = proxyInfoFromNode(req.node);
          if (protocol !== 'delta') delete proxy.vhds; // VHDS is delta-only (as in Envoy)
          const copts = { clock: this.clock, ackTimeoutMs: this.opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, listener: this.opts.listener };
          conn = protocol === 'sotw' ? new SotwConnection(proxy, writer, copts) : new DeltaConnection(proxy, writer, copts);
          this.live.add(conn);
          this.opts.listener.onConnect(conn);
        }
        await conn.handle(req);
      }).catch(fail);
    });
    call.on('end', () => { finish(); call.end(); });
    call.on('cancelled', finish);
    call.on('close', finish);
    call.on('error', finish);
  }
}
