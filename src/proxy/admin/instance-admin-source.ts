/** AdminSource backed by one in-process ProxyInstance (tests, `--concurrency 1` without workers). */
import type { ProxyInstance } from '../proxy-instance.ts';
import type { AdminSource } from './admin-server.ts';

export function instanceAdminSource(p: ProxyInstance, onDrained: () => void = () => {}): AdminSource {
  let draining = false;
  return {
    samples: async () => [p.samples()],
    configDump: async () => p.configDump(),
    ready: async () => p.ready,
    draining: () => draining,
    drain: async () => {
      if (draining) return;
      draining = true;
      await p.drain();
      onDrained();
    },
    serverInfo: async () => ({
      version: 'sluice-proxy/0.1.0',
      state: draining ? 'DRAINING' : p.ready ? 'LIVE' : 'PRE_INITIALIZING',
      node: p.bootstrap.node,
      role: p.bootstrap.role,
      workers: 1,
      control_plane: { ...p.xds.stats },
      listeners: p.listeners.ports(),
      uptime_seconds: Math.floor(process.uptime()),
    }),
  };
}
