/** The `proxy:` and `controlplane:` sections of the sluice config file, with defaults. */
import net from 'node:net';
import { SluiceError } from '../lib/errors.ts';

export interface NetworkConfig {
  /** Serve the gateway (and with it, readiness from xDS ACKs). false = no proxies; Ingresses are marked ready at once. */
  enabled: boolean;
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  concurrency: number;
  maxMemoryMb: number;
  xdsHost: string;
  xdsPort: number;
  debounceAfterMs: number;
  debounceMaxMs: number;
  /** Push a change that finds the control plane idle at once; later changes of a burst wait for the quiet period. */
  debounceLeading: boolean;
  /** With debounceLeading: changes that keep coming are pushed every debounceAfter instead of waiting for quiet. */
  debounceThrottle: boolean;
  /** Run the mesh proxy (per-pod inbound mTLS + RBAC listeners, per-pod egress). Needs `enabled`. */
  mesh: boolean;
  /** Lifetime of mesh workload certificates (rotated at half of it). */
  meshCertTtlMs: number;
  /** Operator-supplied mesh CA (PEM files: signing certificate [+ chain], its key); default: made in STATE_DIR/ca. */
  meshCaCert?: string;
  meshCaKey?: string;
}

export const NETWORK_DEFAULTS: NetworkConfig = {
  enabled: true,
  listenAddress: '127.0.0.1',
  httpPort: 8080,
  httpsPort: 8443,
  concurrency: 2,
  maxMemoryMb: 512,
  xdsHost: '127.0.0.1',
  xdsPort: 0,
  debounceAfterMs: 100,
  debounceMaxMs: 1000,
  debounceLeading: true,
  debounceThrottle: false,
  // Off by default, like Istio's per-namespace sidecar injection: with the mesh on, every pod adds
  // listeners and per-caller clusters to the mesh proxy; at 4 new services a second readiness is
  // p50 157 ms / p99 467 ms at 300 services (bench/results/readiness-fast-300-mesh-dec07) against
  // ~50 / ~120 ms without.
  // Turn it on with proxy.mesh: true.
  mesh: false,
  meshCertTtlMs: 24 * 3600_000,
};

const PROXY_KEYS: Record<string, keyof NetworkConfig> = {
  enabled: 'enabled', 'listen-address': 'listenAddress', 'http-port': 'httpPort', 'https-port': 'httpsPort',
  concurrency: 'concurrency', 'max-memory': 'maxMemoryMb', mesh: 'mesh', 'mesh-cert-ttl': 'meshCertTtlMs',
  'mesh-ca-cert': 'meshCaCert', 'mesh-ca-key': 'meshCaKey',
};
const CP_KEYS: Record<string, keyof NetworkConfig> = {
  'xds-host': 'xdsHost', 'xds-port': 'xdsPort', 'debounce-after': 'debounceAfterMs', 'debounce-max': 'debounceMaxMs',
  'debounce-leading': 'debounceLeading', 'debounce-throttle': 'debounceThrottle',
};

function durationMs(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim()) : null;
  if (!m) throw new SluiceError('SLUICE_E_CONFIG', `${where}: invalid duration ${JSON.stringify(v)} (want e.g. 100ms, 1s, 5m, 24h)`);
  return Math.round(Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[m[2]]!);
}

export function parseNetworkConfig(proxy: Record<string, unknown>, controlplane: Record<string, unknown>, source = 'config'): NetworkConfig {
  const out: NetworkConfig = { ...NETWORK_DEFAULTS };
  const take = (section: Record<string, unknown>, keys: Record<string, keyof NetworkConfig>, name: string) => {
    for (const [k, v] of Object.entries(section ?? {})) {
      const field = keys[k];
      const where = `${source}: ${name}.${k}`;
      if (!field) throw new SluiceError('SLUICE_E_CONFIG', `${where}: unknown key (known: ${Object.keys(keys).join(', ')})`);
      if (field === 'enabled' || field === 'mesh' || field === 'debounceLeading' || field === 'debounceThrottle') {
        if (typeof v !== 'boolean') throw new SluiceError('SLUICE_E_CONFIG', `${where}: want true or false, got ${JSON.stringify(v)}`);
        out[field] = v;
      } else if (field === 'listenAddress' || field === 'xdsHost') {
        if (typeof v !== 'string' || net.isIP(v) === 0) throw new SluiceError('SLUICE_E_CONFIG', `${where}: want an IP address, got ${JSON.stringify(v)}`);
        out[field] = v;
      } else if (field === 'meshCaCert' || field === 'meshCaKey') {
        if (typeof v !== 'string' || v === '') throw new SluiceError('SLUICE_E_CONFIG', `${where}: want a PEM file path, got ${JSON.stringify(v)}`);
        out[field] = v;
      } else if (field === 'meshCertTtlMs') {
        out.meshCertTtlMs = durationMs(v, where);
        if (out.meshCertTtlMs < 1000) throw new SluiceError('SLUICE_E_CONFIG', `${where}: a certificate lifetime under 1s is not usable`);
      } else if (field === 'debounceAfterMs' || field === 'debounceMaxMs') {
        out[field] = durationMs(v, where);
      } else {
        const max = field.endsWith('Port') ? 65535 : field === 'concurrency' ? 64 : 1 << 20;
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) throw new SluiceError('SLUICE_E_CONFIG', `${where}: want an integer in [0, ${max}], got ${JSON.stringify(v)}`);
        (out as unknown as Record<string, number>)[field] = v as number;
      }
    }
  };
  take(proxy, PROXY_KEYS, 'proxy');
  take(controlplane, CP_KEYS, 'controlplane');
  if ((out.meshCaCert === undefined) !== (out.meshCaKey === undefined)) throw new SluiceError('SLUICE_E_CONFIG', `${source}: proxy.mesh-ca-cert and proxy.mesh-ca-key go together`);
  if (out.concurrency < 1) throw new SluiceError('SLUICE_E_CONFIG', `${source}: proxy.concurrency must be at least 1`);
  if (out.debounceMaxMs < out.debounceAfterMs) throw new SluiceError('SLUICE_E_CONFIG', `${source}: controlplane.debounce-max must be ≥ debounce-after`);
  return out;
}
