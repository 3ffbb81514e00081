/** Keeps one UpstreamCluster per active cluster in step with the published ProxyConfig. */
import type { Clock } from '../../lib/clock.ts';
import type { Rng } from '../../lib/rng.ts';
import type { ProxyConfig } from '../config/config-store.ts';
import type { ProxyStats } from '../stats/proxy-stats.ts';
import { UpstreamCluster } from './upstream-cluster.ts';

export class ClusterManager {
  readonly clusters = new Map<string, UpstreamCluster>();
  constructor(private readonly stats: ProxyStats, private readonly clock: Clock, private readonly rng: Rng) {}

  get(name: string): UpstreamCluster | undefined { return this.clusters.get(name); }

  apply(cfg: ProxyConfig): void {
    for (const [name, c] of cfg.clusters) {
      let uc = this.clusters.get(name);
      if (!uc) {
        uc = new UpstreamCluster(c, this.stats.cluster(name), this.clock, this.rng, cfg.secrets);
        this.clusters.set(name, uc);
      } else if (uc.config !== c || (c.tls && uc.secretsSeen !== cfg.secrets)) uc.update(c, cfg.secrets); // SDS rotation reaches TLS clusters
      uc.setEndpoints(c.inlineEndpoints ?? cfg.endpoints.get(c.edsServiceName));
    }
    for (const [name, uc] of this.clusters) {
      if (!cfg.clusters.has(name)) {
        uc.close();
        this.clusters.delete(name);
      }
    }
  }

  destroy(): void {
    for (const uc of this.clusters.values()) uc.destroy();
    this.clusters.clear();
  }
}
