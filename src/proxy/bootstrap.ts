/**
 * The proxy bootstrap file (YAML or JSON): who this proxy is, where its control plane lives, where
 * its admin server listens, and the data-plane defaults sluice ships as the tuned state (DESIGN.md
 * lessons: upstream idle timeout 30 s, 2 workers, no retries unless a route asks, xDS keepalive
 * 10 s / 5 s). Everything else arrives over xDS.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SluiceError } from '../lib/errors.ts';
import { ProxyErrors } from './proxy-errors.ts';

export type ProxyRole = 'gateway' | 'mesh';

export interface Bootstrap {
  file: string;
  node: { id: string; cluster: string; metadata: Record<string, unknown> };
  xds: {
    /** host:port of every control replica; the client reconnects to any of them. */
    addresses: string[];
    /** Delta xDS (default) or State-of-the-World. */
    delta: boolean;
    keepaliveMs: number;
    keepaliveTimeoutMs: number;
    /** Application-level liveness: a stream silent this long after a request is declared dead. */
    livenessTimeoutMs: number;
    reconnectBaseMs: number;
    reconnectMaxMs: number;
    /** How long a cluster waits for its endpoints / a listener for its routes before it is used anyway. */
    initialFetchTimeoutMs: number;
  };
  admin: { address: string; port: number };
  role: ProxyRole;
  listen: { address: string; httpPort: number; httpsPort: number };
  concurrency: number;
  maxMemoryMb: number;
  drainTimeoutMs: number;
  portsFile?: string;
  defaults: { upstreamIdleTimeoutMs: number; connectTimeoutMs: number; routeTimeoutMs: number; streamIdleTimeoutMs: number };
  accessLog: { stdout: boolean; path?: string };
}

export const BOOTSTRAP_DEFAULTS = {
  keepaliveMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  livenessTimeoutMs: 15_000,
  reconnectBaseMs: 250,
  reconnectMaxMs: 1_000,
  initialFetchTimeoutMs: 15_000,
  concurrency: 2,
  maxMemoryMb: 512,
  drainTimeoutMs: 10_000,
  upstreamIdleTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  routeTimeoutMs: 15_000,
  streamIdleTimeoutMs: 300_000,
  httpPort: 8080,
  httpsPort: 8443,
  adminPort: 15000,
} as const;

type Obj = Record<string, unknown>;

function fail(file: string, field: string, msg: string): never {
  throw new SluiceError(ProxyErrors.BOOTSTRAP, `bootstrap ${file}: ${field}: ${msg}`, { details: { file, field } });
}

function obj(file: string, v: unknown, field: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(file, field, 'must be a mapping');
  return v as Obj;
}
function str(file: string, o: Obj, key: string, field: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (dflt !== undefined) return dflt;
    fail(file, field, 'is required');
  }
  if (typeof v !== 'string') fail(file, field, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function int(file: string, o: Obj, key: string, field: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(file, field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}
function bool(file: string, o: Obj, key: string, field: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(file, field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
function hostPort(file: string, v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(v)) fail(file, field, `must be "host:port", got ${JSON.stringify(v)}`);
  const port = Number(v.slice(v.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) fail(file, field, `port ${port} out of range`);
  return v;
}

/** Validates a parsed bootstrap document; `file` names it in errors. */
export function parseBootstrap(doc: unknown, file: string): Bootstrap {
  const root = obj(file, doc, '(root)');
  const node = obj(file, root.node, 'node');
  const xdsRaw = obj(file, root.xds_server, 'xds_server');
  let addrs: unknown = xdsRaw.address ?? xdsRaw.addresses;
  if (addrs === undefined) fail(file, 'xds_server.address', 'is required (host:port, or a list of them)');
  if (!Array.isArray(addrs)) addrs = [addrs];
  const list = addrs as unknown[];
  if (list.length === 0) fail(file, 'xds_server.address', 'must name at least one host:port');
  const addresses = list.map((a, i) => hostPort(file, a, `xds_server.address[${i}]`));
  const admin = obj(file, root.admin, 'admin');
  const roleRaw = root.role ?? 'gateway';
  if (roleRaw !== 'gateway' && roleRaw !== 'mesh') fail(file, 'role', `must be "gateway" or "mesh", got ${JSON.stringify(roleRaw)}`);
  const listen = obj(file, root.listen, 'listen');
  const defaults = obj(file, root.defaults, 'defaults');
  const accessLog = obj(file, root.access_log, 'access_log');
  const metadata = obj(file, node.metadata, 'node.metadata');
  const D = BOOTSTRAP_DEFAULTS;
  const b: Bootstrap = {
    file,
    node: { id: str(file, node, 'id', 'node.id'), cluster: str(file, node, 'cluster', 'node.cluster', roleRaw === 'gateway' ? 'sluice-gateway' : 'sluice-mesh'), metadata },
    xds: {
      addresses,
      delta: bool(file, xdsRaw, 'delta', 'xds_server.delta', true),
      keepaliveMs: int(file, xdsRaw, 'keepalive_ms', 'xds_server.keepalive_ms', D.keepaliveMs, 100),
      keepaliveTimeoutMs: int(file, xdsRaw, 'keepalive_timeout_ms', 'xds_server.keepalive_timeout_ms', D.keepaliveTimeoutMs, 100),
      livenessTimeoutMs: int(file, xdsRaw, 'liveness_timeout_ms', 'xds_server.liveness_timeout_ms', D.livenessTimeoutMs, 100),
      reconnectBaseMs: int(file, xdsRaw, 'reconnect_base_ms', 'xds_server.reconnect_base_ms', D.reconnectBaseMs, 1),
      reconnectMaxMs: int(file, xdsRaw, 'reconnect_max_ms', 'xds_server.reconnect_max_ms', D.reconnectMaxMs, 1),
      initialFetchTimeoutMs: int(file, xdsRaw, 'initial_fetch_timeout_ms', 'xds_server.initial_fetch_timeout_ms', D.initialFetchTimeoutMs, 0),
    },
    admin: { address: str(file, admin, 'address', 'admin.address', '127.0.0.1'), port: int(file, admin, 'port', 'admin.port', D.adminPort, 0, 65535) },
    role: roleRaw,
    listen: {
      address: str(file, listen, 'address', 'listen.address', '0.0.0.0'),
      httpPort: int(file, listen, 'http_port', 'listen.http_port', D.httpPort, 0, 65535),
      httpsPort: int(file, listen, 'https_port', 'listen.https_port', D.httpsPort, 0, 65535),
    },
    concurrency: int(file, root, 'concurrency', 'concurrency', D.concurrency, 1, 64),
    maxMemoryMb: int(file, root, 'max_memory_mb', 'max_memory_mb', D.maxMemoryMb, 16),
    drainTimeoutMs: int(file, root, 'drain_timeout_ms', 'drain_timeout_ms', D.drainTimeoutMs, 0),
    portsFile: root.ports_file === undefined ? undefined : str(file, root, 'ports_file', 'ports_file'),
    defaults: {
      upstreamIdleTimeoutMs: int(file, defaults, 'upstream_idle_timeout_ms', 'defaults.upstream_idle_timeout_ms', D.upstreamIdleTimeoutMs, 1),
      connectTimeoutMs: int(file, defaults, 'connect_timeout_ms', 'defaults.connect_timeout_ms', D.connectTimeoutMs, 1),
      routeTimeoutMs: int(file, defaults, 'route_timeout_ms', 'defaults.route_timeout_ms', D.routeTimeoutMs, 0),
      streamIdleTimeoutMs: int(file, defaults, 'stream_idle_timeout_ms', 'defaults.stream_idle_timeout_ms', D.streamIdleTimeoutMs, 0),
    },
    accessLog: {
      stdout: bool(file, accessLog, 'stdout', 'access_log.stdout', false),
      path: accessLog.path === undefined ? undefined : str(file, accessLog, 'path', 'access_log.path'),
    },
  };
  if (b.xds.reconnectMaxMs < b.xds.reconnectBaseMs) fail(file, 'xds_server.reconnect_max_ms', 'must be ≥ reconnect_base_ms');
  return b;
}

/** Reads and validates a bootstrap file (YAML, of which JSON is a subset). */
export function loadBootstrap(file: string): Bootstrap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SluiceError(ProxyErrors.BOOTSTRAP, `bootstrap ${file}: cannot read: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new SluiceError(ProxyErrors.BOOTSTRAP, `bootstrap ${file}: not valid YAML/JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  return parseBootstrap(doc, file);
}

/** Command-line overrides win over the file. */
export function applyOverrides(b: Bootstrap, o: { concurrency?: number; maxMemoryMb?: number; httpPort?: number; httpsPort?: number; adminPort?: number }): Bootstrap {
  const check = (v: number | undefined, name: string, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new SluiceError(ProxyErrors.BOOTSTRAP, `--${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  check(o.concurrency, 'concurrency', 1, 64);
  check(o.maxMemoryMb, 'max-memory', 16, 1 << 20);
  check(o.httpPort, 'http-port', 0, 65535);
  check(o.httpsPort, 'https-port', 0, 65535);
  check(o.adminPort, 'admin-port', 0, 65535);
  return {
    ...b,
    concurrency: o.concurrency ?? b.concurrency,
    maxMemoryMb: o.maxMemoryMb ?? b.maxMemoryMb,
    listen: { ...b.listen, httpPort: o.httpPort ?? b.listen.httpPort, httpsPort: o.httpsPort ?? b.listen.httpsPort },
    admin: { ...b.admin, port: o.adminPort ?? b.admin.port },
  };
}
