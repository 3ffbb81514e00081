/**
 * The proxy's counters and gauges under Envoy's stat names. Hot-path updates are plain property
 * increments on per-cluster / per-connection-manager objects (no label hashing per request);
 * `samples()` turns them into name+labels+value rows that the admin server renders as
 * Prometheus text. Rows from several worker processes are summed (counters and the gauges sluice
 * exports are all additive across workers), which is why this is hand-rolled rather than
 * prom-client: its registries cannot be merged by simple addition without its cluster IPC.
 */
export type StatType = 'counter' | 'gauge';
export interface StatSample { name: string; type: StatType; labels: Record<string, string>; value: number }

export class ClusterStats {
  upstream_rq_total = 0;
  upstream_rq_1xx = 0;
  upstream_rq_2xx = 0;
  upstream_rq_3xx = 0;
  upstream_rq_4xx = 0;
  upstream_rq_5xx = 0;
  upstream_rq_active = 0;
  upstream_rq_pending_active = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_overflow = 0;
  upstream_rq_retry_success = 0;
  upstream_rq_timeout = 0;
  upstream_rq_per_try_timeout = 0;
  upstream_rq_pending_overflow = 0;
  upstream_cx_total = 0;
  upstream_cx_active = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_connect_timeout = 0;
  upstream_cx_idle_timeout = 0;
  upstream_cx_max_requests = 0;
  upstream_cx_destroy_remote = 0;
  membership_total = 0;
  membership_healthy = 0;
  outlier_detection_ejections_active = 0;
  outlier_detection_ejections_total = 0;
  countStatus(code: number): void {
    if (code >= 500) this.upstream_rq_5xx++;
    else if (code >= 400) this.upstream_rq_4xx++;
    else if (code >= 300) this.upstream_rq_3xx++;
    else if (code >= 200) this.upstream_rq_2xx++;
    else this.upstream_rq_1xx++;
  }
}

const GAUGES = new Set(['upstream_rq_active', 'upstream_rq_pending_active', 'upstream_cx_active', 'membership_total', 'membership_healthy', 'outlier_detection_ejections_active', 'downstream_cx_active', 'downstream_rq_active']);

export class HttpStats {
  downstream_rq_total = 0;
  downstream_rq_1xx = 0;
  downstream_rq_2xx = 0;
  downstream_rq_3xx = 0;
  downstream_rq_4xx = 0;
  downstream_rq_5xx = 0;
  downstream_rq_active = 0;
  downstream_rq_timeout = 0;
  downstream_rq_idle_timeout = 0;
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_cx_idle_timeout = 0;
  downstream_cx_http1_total = 0;
  downstream_cx_http2_total = 0;
  downstream_cx_upgrades_total = 0;
  no_route = 0;
  no_cluster = 0;
  countStatus(code: number): void {
    if (code >= 500) this.downstream_rq_5xx++;
    else if (code >= 400) this.downstream_rq_4xx++;
    else if (code >= 300) this.downstream_rq_3xx++;
    else if (code >= 200) this.downstream_rq_2xx++;
    else this.downstream_rq_1xx++;
  }
}

export class ProxyStats {
  readonly clusters = new Map<string, ClusterStats>();
  readonly http = new Map<string, HttpStats>();
  readonly server = { control_plane_connected_state: 0, control_plane_rq_ack: 0, control_plane_rq_nack: 0, live: 0, memory_allocated: 0, uptime: 0 };

  cluster(name: string): ClusterStats {
    let s = this.clusters.get(name);
    if (!s) { s = new ClusterStats(); this.clusters.set(name, s); }
    return s;
  }
  httpPrefix(prefix: string): HttpStats {
    let s = this.http.get(prefix);
    if (!s) { s = new HttpStats(); this.http.set(prefix, s); }
    return s;
  }

  samples(): StatSample[] {
    const out: StatSample[] = [];
    for (const [name, s] of this.clusters) {
      for (const [k, v] of Object.entries(s)) if (typeof v === 'number') out.push({ name: `envoy_cluster_${k}`, type: GAUGES.has(k) ? 'gauge' : 'counter', labels: { envoy_cluster_name: name }, value: v });
    }
    for (const [prefix, s] of this.http) {
      for (const [k, v] of Object.entries(s)) if (typeof v === 'number') out.push({ name: `envoy_http_${k}`, type: GAUGES.has(k) ? 'gauge' : 'counter', labels: { envoy_http_conn_manager_prefix: prefix }, value: v });
    }
    const sv = this.server;
    out.push({ name: 'envoy_control_plane_connected_state', type: 'gauge', labels: {}, value: sv.control_plane_connected_state });
    out.push({ name: 'envoy_control_plane_rq_ack', type: 'counter', labels: {}, value: sv.control_plane_rq_ack });
    out.push({ name: 'envoy_control_plane_rq_nack', type: 'counter', labels: {}, value: sv.control_plane_rq_nack });
    out.push({ name: 'envoy_server_live', type: 'gauge', labels: {}, value: sv.live });
    out.push({ name: 'envoy_server_memory_allocated', type: 'gauge', labels: {}, value: sv.memory_allocated });
    out.push({ name: 'envoy_server_uptime', type: 'gauge', labels: {}, value: sv.uptime });
    return out;
  }
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * Prometheus text exposition of samples from one or more processes. Rows with the same name and
 * labels are summed, except `*_connected_state` and `server_live`, which take the minimum (every
 * worker must be connected/live for the proxy to be).
 */
export function renderPrometheus(sets: StatSample[][]): string {
  const rows = new Map<string, { s: StatSample; value: number }>();
  for (const set of sets) {
    for (const s of set) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      const key = `${s.name}{${labels}}`;
      const prev = rows.get(key);
      const minMerge = s.name.endsWith('connected_state') || s.name === 'envoy_server_live';
      if (!prev) rows.set(key, { s, value: s.value });
      else prev.value = minMerge ? Math.min(prev.value, s.value) : prev.value + s.value;
    }
  }
  const byName = new Map<string, string[]>();
  const types = new Map<string, StatType>();
  for (const [key, r] of rows) {
    const lines = byName.get(r.s.name) ?? [];
    lines.push(`${key.endsWith('{}') ? key.slice(0, -2) : key} ${r.value}`);
    byName.set(r.s.name, lines);
    types.set(r.s.name, r.s.type);
  }
  let out = '';
  for (const name of [...byName.keys()].sort()) out += `# TYPE ${name} ${types.get(name)}\n${byName.get(name)!.join('\n')}\n`;
  return out;
}
