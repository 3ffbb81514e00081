/**
 * Prometheus metrics of the xDS control plane, named as Istio's pilot names them where the
 * meaning is the same (so existing dashboards and alerts read them):
 *   pilot_xds                         gauge      connected proxies (label protocol: sotw|delta)
 *   pilot_xds_pushes                  counter    responses sent, by type (cds, eds, lds, rds, sds)
 *   pilot_xds_send_time               histogram  seconds to hand one push to the transport
 *   pilot_xds_config_size_bytes       histogram  bytes of one response, by type
 *   pilot_total_xds_rejects           counter    NACKs from proxies, by type
 *   pilot_xds_push_context_errors     counter    pushes not built (translation/encoding failed)
 *   pilot_debounce_time               histogram  seconds from the first change to the debounced flush
 *   pilot_proxy_queue_time            histogram  seconds a push waited in the per-proxy queue
 *   pilot_proxy_convergence_time      histogram  seconds from a change observed to every proxy's ACK
 *   pilot_xds_expired_nonce           counter    flow-control ACK timeouts, by type (Istio counts
 *                                                stale nonces here; sluice counts responses never ACKed)
 *   sluice_gateway_translations_total counter    gateway translations by mode (full|incremental) and,
 *                                                for a full one, why (no memo, a fallback, TLS...)
 *                                                (process-wide: read from translate/gateway-memo.ts)
 * A registry per control plane (not prom-client's global one), so several can live in one process.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TypeUrl } from '../../xds/protos.ts';
import { gatewayMemoStats } from '../translate/gateway-memo.ts';

const SHORT: Record<string, string> = {
  [TypeUrl.Cluster]: 'cds',
  [TypeUrl.ClusterLoadAssignment]: 'eds',
  [TypeUrl.Listener]: 'lds',
  [TypeUrl.RouteConfiguration]: 'rds',
  [TypeUrl.VirtualHost]: 'vhds',
  [TypeUrl.Secret]: 'sds',
};
/** Istio's short type label (`cds`, `eds`, ...) for a type URL. */
export function shortType(typeUrl: string): string {
  return SHORT[typeUrl] ?? typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

const TIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

export class XdsMetrics {
  readonly registry: Registry;
  readonly connected: Gauge<'protocol'>;
  readonly pushes: Counter<'type'>;
  readonly sendTime: Histogram<string>;
  readonly configSize: Histogram<'type'>;
  readonly rejects: Counter<'type'>;
  readonly pushContextErrors: Counter<string>;
  readonly debounceTime: Histogram<string>;
  readonly queueTime: Histogram<string>;
  readonly convergenceTime: Histogram<string>;
  readonly ackTimeouts: Counter<'type'>;
  readonly gatewayTranslations: Counter<'mode' | 'reason'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.connected = new Gauge({ name: 'pilot_xds', help: 'Number of endpoints connected to this pilot using XDS.', labelNames: ['protocol'], registers });
    this.pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds (here: responses sent, by type).', labelNames: ['type'], registers });
    this.sendTime = new Histogram({ name: 'pilot_xds_send_time', help: 'Total time in seconds Pilot takes to send generated configuration.', buckets: TIME_BUCKETS, registers });
    this.configSize = new Histogram({ name: 'pilot_xds_config_size_bytes', help: 'Distribution of configuration sizes pushed to clients.', labelNames: ['type'], buckets: SIZE_BUCKETS, registers });
    this.rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers });
    this.pushContextErrors = new Counter({ name: 'pilot_xds_push_context_errors', help: 'Number of errors (timeouts) initiating push context.', registers });
    this.debounceTime = new Histogram({ name: 'pilot_debounce_time', help: 'Delay in seconds between the first config enters debouncing and the merged push request is pushed into the push queue.', buckets: TIME_BUCKETS, registers });
    this.queueTime = new Histogram({ name: 'pilot_proxy_queue_time', help: 'Time in seconds, a proxy is in the push queue before being dequeued.', buckets: TIME_BUCKETS, registers });
    this.convergenceTime = new Histogram({ name: 'pilot_proxy_convergence_time', help: 'Delay in seconds between config change and a proxy receiving all required configuration (here: every connected proxy ACKed).', buckets: TIME_BUCKETS, registers });
    this.ackTimeouts = new Counter({ name: 'pilot_xds_expired_nonce', help: 'Responses whose ACK did not arrive within the flow-control timeout.', labelNames: ['type'], registers });
    this.gatewayTranslations = new Counter({
      name: 'sluice_gateway_translations_total', help: 'Gateway translations by mode (incremental from the previous one, or full) and, for fallbacks to full, why.',
      labelNames: ['mode', 'reason'], registers,
      collect() {
        this.reset();
        this.inc({ mode: 'incremental', reason: '' }, gatewayMemoStats.incremental);
        for (const [reason, n] of Object.entries(gatewayMemoStats.full)) this.inc({ mode: 'full', reason }, n);
      },
    });
  }
}
