/**
 * Who is on the other end of an xDS stream: the `node` of the first request, turned into the
 * ProxyInfo the translation scopes by.
 *
 * Node metadata keys sluice reads (strings; documented in docs/errors/controlplane.md too):
 *   SLUICE_ROLE   `gateway` (the ingress gateway) or `mesh` (the per-machine mesh proxy, and
 *                 proxyless gRPC clients); Istio's `router` / `sidecar` are accepted as aliases.
 *   NAMESPACE     the namespace the proxy serves (Istio's key); a mesh proxy without it sees
 *                 every namespace.
 *   SLUICE_PORTS  optional `http:8080,https:8443` (the gateway's listener ports).
 * Without SLUICE_ROLE the role comes from an Istio-style node id `router~ip~name.ns~domain`
 * (`router` = gateway, `sidecar` = mesh) and otherwise defaults to `mesh`.
 */
import { VHDS_CLIENT_FEATURE } from '../../xds/protos.ts';
import { SluiceError } from '../../lib/errors.ts';

export type ProxyRole = 'gateway' | 'mesh';
export interface ProxyInfo {
  id: string;
  role: ProxyRole;
  namespace?: string;
  ports?: { http?: number; https?: number };
  /** Every string metadata value, for scope keys that need more (e.g. a sidecar selector). */
  metadata: Record<string, string>;
  /** Its gateway routes go over VHDS (a delta stream whose node lists VHDS_CLIENT_FEATURE). */
  vhds?: boolean;
}

export const NodeMetadataKeys = { role: 'SLUICE_ROLE', namespace: 'NAMESPACE', ports: 'SLUICE_PORTS' } as const;

/** google.protobuf.Value as @grpc/proto-loader decodes it (a protobufjs well-known type, so camelCase
 * `stringValue` even under keepCase), in snake_case, or as plain JSON. */
function valueToString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.string_value === 'string' && (o.kind === undefined || o.kind === 'string_value')) return o.string_value;
    if (typeof o.stringValue === 'string') return o.stringValue;
    const num = o.number_value ?? o.numberValue;
    if (typeof num === 'number') return String(num);
    const bool = o.bool_value ?? o.boolValue;
    if (typeof bool === 'boolean') return String(bool);
  }
  return undefined;
}

/** google.protobuf.Struct (`{ fields: { k: Value } }`) or a plain object → string map. */
export function structToStrings(s: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s || typeof s !== 'object') return out;
  const fields = (s as { fields?: unknown }).fields;
  const src = fields && typeof fields === 'object' ? (fields as Record<string, unknown>) : (s as Record<string, unknown>);
  for (const [k, v] of Object.entries(src)) {
    const str = valueToString(v);
    if (str !== undefined) out[k] = str;
  }
  return out;
}

function parsePorts(spec: string, nodeId: string): { http?: number; https?: number } {
  const out: { http?: number; https?: number } = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [k, v] = part.split(':');
    const n = Number(v);
    if ((k !== 'http' && k !== 'https') || !Number.isInteger(n) || n <= 0 || n > 65535) {
      throw new SluiceError('SLUICE_E_XDS_NODE', `node "${nodeId}": metadata ${NodeMetadataKeys.ports}="${spec}" is not a list of http:PORT,https:PORT`, { httpStatus: 400 });
    }
    out[k] = n;
  }
  return out;
}

/** Turns a DiscoveryRequest's `node` into ProxyInfo. Throws SLUICE_E_XDS_NODE when it is unusable. */
export function proxyInfoFromNode(node: unknown): ProxyInfo {
  if (!node || typeof node !== 'object') {
    throw new SluiceError('SLUICE_E_XDS_NODE', 'the first DiscoveryRequest on an xDS stream must carry `node` (with node.id)', { httpStatus: 400 });
  }
  const n = node as { id?: unknown; metadata?: unknown };
  const id = typeof n.id === 'string' ? n.id : '';
  if (!id) throw new SluiceError('SLUICE_E_XDS_NODE', 'DiscoveryRequest.node.id is empty: every proxy must identify itself', { httpStatus: 400 });
  const metadata = structToStrings(n.metadata);
  const idParts = id.split('~');
  let role: ProxyRole = 'mesh';
  const roleMeta = metadata[NodeMetadataKeys.role]?.toLowerCase();
  if (roleMeta !== undefined) {
    if (roleMeta === 'gateway' || roleMeta === 'router') role = 'gateway';
    else if (roleMeta === 'mesh' || roleMeta === 'sidecar') role = 'mesh';
    else throw new SluiceError('SLUICE_E_XDS_NODE', `node "${id}": metadata ${NodeMetadataKeys.role}="${roleMeta}" must be "gateway" or "mesh"`, { httpStatus: 400 });
  } else if (idParts.length === 4 && idParts[0] === 'router') {
    role = 'gateway';
  }
  let namespace = metadata[NodeMetadataKeys.namespace] || undefined;
  if (!namespace && idParts.length === 4) {
    const dot = idParts[2].lastIndexOf('.');
    if (dot > 0) namespace = idParts[2].slice(dot + 1);
  }
  const info: ProxyInfo = { id, role, metadata };
  const features = (n as { client_features?: unknown }).client_features;
  if (Array.isArray(features) && features.includes(VHDS_CLIENT_FEATURE)) info.vhds = true;
  if (namespace) info.namespace = namespace;
  if (metadata[NodeMetadataKeys.ports]) info.ports = parsePorts(metadata[NodeMetadataKeys.ports], id);
  return info;
}
