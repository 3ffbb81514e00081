/** `sluice up`: runs the control process in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { io } from '../io.ts';
import { realClock } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import { loadConfig } from '../config.ts';
import { parsePort } from '../options.ts';

interface UpOptions {
  stateDir: string; apiPort?: number; store?: string; config?: string; onlyApi?: boolean;
  httpPort?: number; httpsPort?: number; xdsPort?: number; debounceAfter?: string; debounceMax?: string; proxy?: boolean;
}

export function register(program: Command): void {
  program
    .command('up')
    .description('run the sluice control process (API server, store, controllers, proxies) in the foreground')
    .option('--state-dir <dir>', 'directory for the store, endpoints.json and kubeconfig', './.sluice')
    .option('--api-port <port>', 'API server port (0 picks a free port; default 7070 or api.port from --config)', parsePort)
    .option('--store <backend>', 'store backend: sqlite (durable, default) or memory')
    .option('--config <file>', 'sluice config file (YAML)')
    .option('--only-api', 'run only the API server and store: no controllers, pods or proxies (API clients, tests)')
    .option('--http-port <port>', 'gateway HTTP port (default 8080; 0 picks a free port)', parsePort)
    .option('--https-port <port>', 'gateway HTTPS port (default 8443; 0 picks a free port)', parsePort)
    .option('--xds-port <port>', 'xDS server port on loopback (default 0: a free port, written to endpoints.json)', parsePort)
    .option('--debounce-after <duration>', 'xDS push debounce: quiet period (default 100ms)')
    .option('--debounce-max <duration>', 'xDS push debounce: longest wait (default 1s)')
    .option('--no-proxy', 'run no gateway proxy: Ingresses are marked ready without xDS ACKs')
    .action(async (o: UpOptions) => {
      await up(o);
    });
}

async function up(o: UpOptions): Promise<void> {
  const config = loadConfig(o.config);
  if (o.apiPort !== undefined) config.api.port = o.apiPort;
  if (o.store !== undefined) {
    if (o.store !== 'sqlite' && o.store !== 'memory') throw new Error(`--store ${o.store}: expected sqlite or memory`);
    config.store.backend = o.store;
  }
  // Flags override the config file's proxy: and controlplane: sections (validated by src/platform).
  const set = (section: 'proxy' | 'controlplane', key: string, v: unknown) => { if (v !== undefined) config[section] = { ...config[section], [key]: v }; };
  set('proxy', 'http-port', o.httpPort);
  set('proxy', 'https-port', o.httpsPort);
  if (o.proxy === false) set('proxy', 'enabled', false);
  set('controlplane', 'xds-port', o.xdsPort);
  set('controlplane', 'debounce-after', o.debounceAfter);
  set('controlplane', 'debounce-max', o.debounceMax);
  // Loaded here, not at the top: every other command (`sluice proxy`, the gateway's and the mesh
  // proxy's primary process among them) would otherwise load the whole control plane too.
  const { ControlProcess } = await import('../control-process.ts');
  const { defaultComponents } = await import('../components.ts');
  const cp = new ControlProcess({ stateDir: o.stateDir, config, clock: realClock, components: o.onlyApi ? [] : defaultComponents(config) });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const t0 = performance.now();
    cp.stop().then(() => {
      log.info({ ms: Math.round(performance.now() - t0) }, 'stopped');
      process.exit(0);
    }, (e: unknown) => {
      process.stderr.write(`sluice: shutdown failed: ${errorMessage(e)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    const started = await cp.start();
    io.out(`sluice ready: api ${started.endpoints.api} kubeconfig ${started.kubeconfigPath}\n`);
  } catch (e) {
    await cp.stop();
    throw e;
  }
}
