/**
 * Envoy's xDS v3 protos, loaded from the copies shipped in @grpc/grpc-js-xds, shared by the
 * control plane (encodes) and the proxy (decodes). Resources travel inside the code base as plain
 * objects with the .proto field names (snake_case, as in Envoy's JSON/YAML config); a nested
 * google.protobuf.Any is written `{ '@type': 'type.googleapis.com/...', ...fields }`.
 * Durations are `{ seconds, nanos }`, wrapper types (UInt32Value, BoolValue, ...) are `{ value }`,
 * enums are their names.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);
const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
export const PROTO_INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xdsRoot, 'deps', d));

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  /** VHDS: a RouteConfiguration's virtual hosts as resources of their own (`<route config>/<virtual host>`). */
  VirtualHost: 'type.googleapis.com/envoy.config.route.v3.VirtualHost',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  HttpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  Fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  Rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  RbacPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  DownstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  UpstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  HttpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  RingHashLb: 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
  LeastRequestLb: 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  RoundRobinLb: 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  WrrLocalityLb: 'type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
  FileAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  StdoutAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
} as const;
export type ResourceTypeUrl = (typeof TypeUrl)['Listener' | 'RouteConfiguration' | 'VirtualHost' | 'Cluster' | 'ClusterLoadAssignment' | 'Secret'];

/** The resource types in the order a server pushes them (CDS, EDS, LDS, RDS, VHDS, SDS). */
export const PUSH_ORDER: readonly ResourceTypeUrl[] = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.VirtualHost, TypeUrl.Secret];

/**
 * The client feature (Node.client_features) a delta client sends to get its gateway routes over
 * VHDS: each virtual host its own resource, so one changed host costs one small resource.
 */
export const VHDS_CLIENT_FEATURE = 'dev.sluice.vhds';

const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
];

function resolveInclude(target: string): string {
  for (const dir of PROTO_INCLUDE_DIRS) {
    const p = path.join(dir, target);
    try { require('node:fs').accessSync(p); return p; } catch { /* next */ }
  }
  return target;
}

let root: protobuf.Root | undefined;
let descriptorRegistered = false;
/** The protobufjs root with every Envoy message sluice uses (loaded once, lazily). */
export function envoyRoot(): protobuf.Root {
  if (root) return root;
  // google/protobuf/descriptor.proto (imported by the validate and udpa annotation protos) as
  // protobufjs ships it; registered the way @grpc/proto-loader registers it on import.
  if (!descriptorRegistered) {
    protobuf.common('descriptor', (require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: Record<string, protobuf.INamespace> } } } } }).nested.google.nested.protobuf.nested);
    descriptorRegistered = true;
  }
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => resolveInclude(target);
  r.loadSync(PROTO_FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

const typeCache = new Map<string, protobuf.Type>();
export function messageType(typeUrl: string): protobuf.Type {
  let t = typeCache.get(typeUrl);
  if (!t) {
    const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    t = envoyRoot().lookupType(name);
    typeCache.set(typeUrl, t);
  }
  return t;
}

/** Encodes a plain resource object (proto field names, nested Any as `@type`) to protobuf bytes. */
export function encodeResource(typeUrl: string, obj: object): Buffer {
  const t = messageType(typeUrl);
  const what = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  let msg: protobuf.Message;
  try {
    // fromObject converts enum names and nested `@type` Any objects; it throws on wrong shapes.
    msg = t.fromObject(obj as Record<string, unknown>);
  } catch (e) {
    throw new Error(`invalid ${what}: ${(e as Error).message}`);
  }
  const err = t.verify(msg);
  if (err) throw new Error(`invalid ${what}: ${err}`);
  return Buffer.from(t.encode(msg).finish());
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, json: true, arrays: true };
/** Decodes protobuf bytes into a plain object in the same shape encodeResource takes. */
export function decodeResource<T = Record<string, any>>(typeUrl: string, bytes: Uint8Array): T {
  const t = messageType(typeUrl);
  return t.toObject(t.decode(bytes), TO_OBJECT) as T;
}

export interface AnyMessage { type_url: string; value: Buffer }
export function toAny(typeUrl: string, obj: object): AnyMessage {
  return { type_url: typeUrl, value: encodeResource(typeUrl, obj) };
}
export function fromAny<T = Record<string, any>>(any: { type_url: string; value: Uint8Array }): T {
  return decodeResource<T>(any.type_url, any.value);
}

/**
 * How the ADS messages convert: @grpc/proto-loader's loadSync options (keepCase, longs: String,
 * enums: String, defaults: true, oneofs: true) except json. With json, protobufjs expands a
 * google.protobuf.Any whose type the root knows into `{ '@type', ...fields }`; proto-loader's
 * root held only ads.proto's imports, so the resources inside a DiscoveryResponse stayed
 * `{ type_url, value }` (which the xDS client decodes itself), whereas envoyRoot() knows every
 * resource type. json's only other effect is NaN/±Infinity doubles as strings.
 */
const ADS_CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

let ads: { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } | undefined;
/**
 * The AggregatedDiscoveryService service definition and client constructor (keepCase, like
 * grpc-js-xds). Built from envoyRoot() — ads.proto is one of its files — with the same
 * serializers @grpc/proto-loader generates (fromObject + encode; decode + toObject), instead of
 * having proto-loader parse the protos a second time: that second parse, proto-loader's own
 * descriptor root and the per-message file descriptors it keeps cost a proxy worker ~4.5 MB of heap
 * (measured with forced GCs around each step) for nothing it uses.
 */
export function adsService(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  if (ads) return ads;
  const svc = envoyRoot().lookupService('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const serialize = (t: protobuf.Type) => (arg: object): Buffer => {
    if (Array.isArray(arg)) throw new Error(`Failed to serialize message: expected object with ${t.name} structure, got array instead`);
    return t.encode(t.fromObject(arg as Record<string, unknown>)).finish() as Buffer;
  };
  const deserialize = (t: protobuf.Type) => (buf: Buffer): any => t.toObject(t.decode(buf), ADS_CONVERSION);
  const service: grpc.ServiceDefinition = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    (service as Record<string, grpc.MethodDefinition<object, object>>)[m.name] = {
      path: `/${svc.fullName.slice(1)}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: serialize(req),
      requestDeserialize: deserialize(req),
      responseSerialize: serialize(res),
      responseDeserialize: deserialize(res),
      // proto-loader's originalName: the method name in lowerCamelCase.
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  const Client = grpc.makeGenericClientConstructor(service, svc.name, {});
  ads = { service, Client };
  return ads;
}

/** Durations in resources: `{ seconds, nanos }` ↔ milliseconds. */
export function durationMs(d: { seconds?: number | string; nanos?: number } | undefined, fallback: number): number {
  if (!d) return fallback;
  return Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
}
export function msDuration(ms: number): { seconds: number; nanos: number } {
  const s = Math.floor(ms / 1000);
  return { seconds: s, nanos: Math.round((ms - s * 1000) * 1e6) };
}
