/**
 * The network half of `sluice up`: the xDS control plane, the ingress gateway proxy it
 * configures and, unless `proxy.mesh: false`, the mesh proxy (one per machine: per-pod inbound
 * listeners with mTLS and RBAC in front of each pod's queue-proxy, per-pod egress listeners)
 * with the mesh CA (STATE_DIR/ca) whose workload certificates reach both proxies over SDS. The gateway's ports are resolved first (0 = a free port) so the control plane
 * translates listeners and `host:port` domains for the ports the gateway really serves.
 * Ingresses become Ready only when the gateway ACKs (readiness from xDS, no probing).
 */
import net from 'node:net';
import { controlPlaneComponent } from '../controlplane/control-plane.ts';
import type { Component, ComponentContext } from '../cli/control-process.ts';
import { ProxyProcess } from './proxy-process.ts';
import { parseNetworkConfig, type NetworkConfig } from './network-config.ts';
import type { MeshTranslatorOptions } from '../controlplane/mesh-translator.ts';
import { GATEWAY_IDENTITY, type MeshSecuritySource } from '../controlplane/translate/mesh-security.ts';
import { MeshIdentities } from '../security/mesh-identities.ts';
import { log } from '../lib/log.ts';

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, host, () => resolve()); });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface NetworkComponent extends Component {
  readonly gateway: ProxyProcess | undefined;
  readonly mesh: ProxyProcess | undefined;
  readonly identities: MeshIdentities | undefined;
  readonly config: NetworkConfig;
}

export interface NetworkComponentOptions {
  /** The activator's address (read at start): revisions with no ready pod are routed there. */
  activator?: () => { address: string; port: number } | undefined;
}

export function networkComponent(cfg: NetworkConfig, opts: NetworkComponentOptions = {}): NetworkComponent {
  let cp: ReturnType<typeof controlPlaneComponent> | undefined;
  let gateway: ProxyProcess | undefined;
  let mesh: ProxyProcess | undefined;
  let identities: MeshIdentities | undefined;
  return {
    name: 'network',
    config: cfg,
    get gateway() { return gateway; },
    get mesh() { return mesh; },
    get identities() { return identities; },
    async start(ctx: ComponentContext) {
      let rotations = 0;
      if (cfg.mesh) {
        identities = new MeshIdentities({
          stateDir: ctx.stateDir, clock: ctx.clock, certTtlMs: cfg.meshCertTtlMs, gatewayIdentity: GATEWAY_IDENTITY,
          rootCertFile: cfg.meshCaCert, rootKeyFile: cfg.meshCaKey,
          // A new or rotated certificate: translate again and push the SDS secrets.
          onChange: () => cp?.controlPlane()?.pipeline.notify({ kind: 'security/workload-certificates', key: `rotation-${++rotations}` }),
        });
        const ca = await identities.start();
        log.info({ ca: ca.source, trustDomain: ca.trustDomain, certTtlMs: cfg.meshCertTtlMs }, 'mesh CA ready');
      }
      const http = cfg.httpPort || (await freePort(cfg.listenAddress));
      let https = cfg.httpsPort || (await freePort(cfg.listenAddress));
      while (https === http) https = await freePort(cfg.listenAddress);
      const src = identities;
      const meshSecurity: MeshSecuritySource | undefined = src ? () => src.snapshot() : undefined;
      const translateOptions: MeshTranslatorOptions & { meshSecurity?: MeshSecuritySource } = { activator: opts.activator?.(), ...(meshSecurity ? { meshSecurity } : {}) };
      cp = controlPlaneComponent({
        host: cfg.xdsHost, port: cfg.xdsPort,
        debounceAfterMs: cfg.debounceAfterMs, debounceMaxMs: cfg.debounceMaxMs, debounceLeading: cfg.debounceLeading, debounceThrottle: cfg.debounceThrottle,
        gatewayPorts: { http, https },
        translate: translateOptions,
      });
      const { xds } = await cp.start({ store: ctx.store, clock: ctx.clock, informers: ctx.informers });
      const metrics = cp.controlPlane()?.metrics;
      if (metrics) ctx.api.addRoute('/metrics/controlplane', async (_req, res) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(await metrics.metrics());
      });
      gateway = new ProxyProcess({
        name: 'gateway', stateDir: ctx.stateDir, startTimeoutMs: 90_000,
        bootstrap: {
          node: { id: 'gateway-0', cluster: 'sluice-gateway', metadata: { SLUICE_ROLE: 'gateway', SLUICE_PORTS: `http:${http},https:${https}` } },
          xds_server: { address: xds },
          admin: { address: '127.0.0.1', port: 0 },
          role: 'gateway',
          listen: { address: cfg.listenAddress, http_port: http, https_port: https },
          concurrency: cfg.concurrency,
          max_memory_mb: cfg.maxMemoryMb,
        },
      });
      if (cfg.mesh) {
        mesh = new ProxyProcess({
          name: 'mesh', stateDir: ctx.stateDir, startTimeoutMs: 90_000,
          bootstrap: {
            node: { id: 'mesh-0', cluster: 'sluice-mesh', metadata: { SLUICE_ROLE: 'mesh' } },
            xds_server: { address: xds },
            admin: { address: '127.0.0.1', port: 0 },
            role: 'mesh',
            listen: { address: '127.0.0.1', http_port: 0, https_port: 0 },
            concurrency: cfg.concurrency,
            max_memory_mb: cfg.maxMemoryMb,
          },
        });
      }
      // Both proxies start together (each builds its worker bundle and forks its workers).
      const [ports, mp] = await Promise.all([gateway.start(), mesh?.start()]);
      const extra: Record<string, string> = {};
      if (mp) {
        extra.meshAdmin = `http://127.0.0.1:${mp.admin_port}`;
        extra.meshPid = String(mp.pid);
      }
      return {
        ...extra,
        xds,
        gateway: `http://${cfg.listenAddress === '0.0.0.0' ? '127.0.0.1' : cfg.listenAddress}:${ports.http_port}`,
        gatewayHttps: `https://${cfg.listenAddress === '0.0.0.0' ? '127.0.0.1' : cfg.listenAddress}:${ports.https_port}`,
        gatewayAdmin: `http://127.0.0.1:${ports.admin_port}`,
        gatewayPid: String(ports.pid),
      };
    },
    async stop() {
      await Promise.all([gateway?.stop(), mesh?.stop()]);
      identities?.stop();
      await cp?.stop();
    },
  };
}

export { parseNetworkConfig };
