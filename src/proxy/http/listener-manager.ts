/**
 * Binds, updates and drains downstream listeners as the active configuration changes. In the
 * gateway role the bootstrap's ports win over the listener's own (like a Service port mapping):
 * TLS listeners serve on listen.https_port, plaintext ones on listen.http_port. The mesh role binds
 * the listener addresses as given.
 */
import { log } from '../../lib/log.ts';
import type { ProxyConfig } from '../config/config-store.ts';
import type { ListenerConfig } from '../config/model.ts';
import type { ProxyStats } from '../stats/proxy-stats.ts';
import { DownstreamListener } from './downstream-listener.ts';
import type { Router, RouterDeps } from './router.ts';

export interface ListenerPlacement { role: 'gateway' | 'mesh'; address: string; httpPort: number; httpsPort: number }

export class ListenerManager {
  readonly listeners = new Map<string, { l: DownstreamListener; address: string; port: number }>();
  private readonly binding = new Map<string, Promise<void>>();
  drainTimeoutMs = 5_000;
  /** Set by drainAll/destroy: later config changes bind nothing. */
  private closed = false;
  onBound: (name: string, cfg: ListenerConfig, port: number) => void = () => {};

  constructor(private readonly placement: ListenerPlacement, private readonly router: Router, private readonly deps: RouterDeps, private readonly stats: ProxyStats) {}

  bindAddress(l: ListenerConfig): { address: string; port: number } {
    const p = this.placement;
    if (p.role === 'gateway') return { address: p.address, port: l.tls ? p.httpsPort : p.httpPort };
    return { address: l.address, port: l.port };
  }

  /** Applies the listener set; resolves when new listeners are bound. */
  async apply(cfg: ProxyConfig): Promise<void> {
    if (this.closed) return;
    const work: Promise<void>[] = [];
    for (const [name, lc] of cfg.listeners) {
      const cur = this.listeners.get(name);
      const want = this.bindAddress(lc);
      if (cur && cur.address === want.address && (want.port === 0 || cur.port === want.port) && cur.l.config.tls === lc.tls) {
        if (cur.l.config !== lc) cur.l.update(lc);
        cur.l.setSecrets(cfg.secrets);
        continue;
      }
      if (this.binding.has(name)) continue;
      if (cur) { this.listeners.delete(name); void cur.l.drain(this.drainTimeoutMs); }
      const l = new DownstreamListener(lc, this.router, this.deps, this.stats);
      l.setSecrets(cfg.secrets);
      const p = l.listen(want.address, want.port).then((port) => {
        if (this.closed) { l.destroy(); return; }
        this.listeners.set(name, { l, address: want.address, port: want.port === 0 ? port : want.port });
        log.info({ listener: name, address: want.address, port }, 'listener bound');
        this.onBound(name, lc, port);
      }).catch((e: Error) => {
        log.error({ listener: name, err: e.message }, 'listener failed to bind');
      }).finally(() => this.binding.delete(name));
      this.binding.set(name, p);
      work.push(p);
    }
    for (const [name, cur] of this.listeners) {
      if (!cfg.listeners.has(name)) {
        this.listeners.delete(name);
        void cur.l.drain(this.drainTimeoutMs);
      }
    }
    await Promise.all(work);
  }

  ports(): Record<string, number> {
    return Object.fromEntries([...this.listeners].map(([n, v]) => [n, v.l.boundPort]));
  }

  async drainAll(timeoutMs: number): Promise<void> {
    this.closed = true;
    await Promise.all(this.binding.values());
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((v) => v.l.drain(timeoutMs)));
  }

  destroy(): void {
    this.closed = true;
    for (const v of this.listeners.values()) v.l.destroy();
    this.listeners.clear();
  }
}
