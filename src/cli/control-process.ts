/**
 * The control process `sluice up` runs: opens the store, starts the API server, then each
 * component in order (controllers, xDS server, proxies, ... added by their owners), writes
 * `endpoints.json` and `kubeconfig` into the state dir, and stops everything in reverse order.
 * API access control is always on: the state dir's `tokens.yaml` holds the bearer tokens (an
 * `admin` token bound to cluster-admin is made at first start) and the kubeconfig carries the
 * admin token; edits to tokens.yaml apply without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createApiServer, type ApiServer } from '../apiserver/api-server.ts';
import { realClock, type Clock } from '../lib/clock.ts';
import { SluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { ApiAuth, ensureAdminToken } from '../security/api-auth.ts';
import { loadOrCreateCa, type Ca } from '../security/ca.ts';
import { openStore } from '../store/open-store.ts';
import { registerDashboard } from '../ui/register.ts';
import { EventTtl } from '../controller/event-ttl.ts';
import { SharedInformers } from '../controller/shared-informers.ts';
import type { Store } from '../store/store.ts';
import type { SluiceConfig } from './config.ts';
import { renderKubeconfig } from './kubeconfig.ts';

export const ControlErrors = {
  StateDir: 'SLUICE_E_STATE_DIR',
  ComponentStart: 'SLUICE_E_COMPONENT_START',
} as const;

/** The DNS name in the API server's certificate; kubeconfigs verify it with tls-server-name. */
export const API_TLS_SERVER_NAME = 'localhost';
/** The API serving certificate is made anew at every start; one year covers any single run. */
const API_CERT_TTL_MS = 365 * 24 * 3600_000;

export interface ComponentContext {
  store: Store;
  config: SluiceConfig;
  stateDir: string;
  clock: Clock;
  /** Endpoints known so far (`api`, and whatever earlier components returned). */
  endpoints: Record<string, string>;
  api: ApiServer;
  /** The state dir's CA (STATE_DIR/ca), which also signed the API serving certificate. */
  ca: Ca;
  /** One informer per resource for every component (each takes a scope of its own). */
  informers: SharedInformers;
}

export interface Component {
  name: string;
  /** Starts the component; a returned record is merged into endpoints.json. */
  start(ctx: ComponentContext): Promise<Record<string, string> | void>;
  stop(): Promise<void>;
}

export interface ControlProcessOptions {
  stateDir: string;
  config: SluiceConfig;
  components?: Component[];
  clock?: Clock;
}

export interface Started {
  endpoints: Record<string, string>;
  kubeconfigPath: string;
  endpointsPath: string;
  /** The cluster-admin bearer token written into the kubeconfig. */
  adminToken: string;
}

export class ControlProcess {
  private store?: Store;
  private api?: ApiServer;
  private eventTtl?: EventTtl;
  private informers?: SharedInformers;
  private readonly started: Component[] = [];
  private readonly clock: Clock;
  private wroteEndpoints = false;
  readonly stateDir: string;

  constructor(private readonly opts: ControlProcessOptions) {
    this.clock = opts.clock ?? realClock;
    this.stateDir = path.resolve(opts.stateDir);
  }

  async start(): Promise<Started> {
    const { config } = this.opts;
    try {
      fs.mkdirSync(this.stateDir, { recursive: true });
    } catch (e) {
      throw new SluiceError(ControlErrors.StateDir, `cannot create state dir ${this.stateDir}: ${(e as Error).message}`, { cause: e });
    }
    const endpointsPath = path.join(this.stateDir, 'endpoints.json');
    const storePath = path.resolve(this.stateDir, config.store.path);
    // Before the store: a malformed tokens.yaml stops `sluice up` with the file and field named.
    const adminToken = ensureAdminToken(this.stateDir);
    const auth = ApiAuth.load(this.stateDir);
    this.store = openStore({ backend: config.store.backend, path: storePath, clock: this.clock, synchronous: config.store.synchronous });
    // The API port speaks HTTPS too, with a serving certificate from the state dir's CA: kubectl
    // sends the kubeconfig's token only over TLS. Raw clients on this machine may use http://.
    const ca = await loadOrCreateCa(this.stateDir, { clock: this.clock });
    const serving = await ca.issueServing({ dnsNames: [API_TLS_SERVER_NAME], ttlMs: API_CERT_TTL_MS });
    this.api = createApiServer({ store: this.store, clock: this.clock, bodyLimit: config.api.bodyLimitBytes, auth, tls: { cert: serving.chainPem, key: serving.keyPem } });
    registerDashboard(this.api);
    // Events expire like kube-apiserver's (--event-ttl): whoever wrote them, components or clients.
    if (config.store.eventTtlMs > 0) {
      this.eventTtl = new EventTtl({ store: this.store, clock: this.clock, ttlMs: config.store.eventTtlMs });
      await this.eventTtl.start();
    }
    const port = await this.api.listen(config.api.port, config.api.host);
    const endpoints: Record<string, string> = { api: `http://${config.api.host}:${port}`, controlPid: String(process.pid) };
    const kubeconfigServer = `https://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${port}`;
    log.info({ api: endpoints.api, store: config.store.backend, stateDir: this.stateDir }, 'api server listening');

    this.informers = new SharedInformers({ store: this.store, clock: this.clock });
    for (const c of this.opts.components ?? []) {
      let extra: Record<string, string> | void;
      try {
        extra = await c.start({ store: this.store, config, stateDir: this.stateDir, clock: this.clock, endpoints: { ...endpoints }, api: this.api, ca, informers: this.informers });
      } catch (e) {
        throw new SluiceError(ControlErrors.ComponentStart, `component ${c.name} failed to start: ${(e as Error).message}`, { cause: e });
      }
      this.started.push(c);
      if (extra) Object.assign(endpoints, extra);
      log.info({ component: c.name }, 'component started');
    }

    const kubeconfigPath = path.join(this.stateDir, 'kubeconfig');
    writeAtomic(kubeconfigPath, renderKubeconfig({ server: kubeconfigServer, token: adminToken, caPem: ca.rootPem, tlsServerName: API_TLS_SERVER_NAME }), 0o600);
    writeAtomic(endpointsPath, JSON.stringify(endpoints, null, 2) + '\n');
    this.wroteEndpoints = true;
    return { endpoints, kubeconfigPath, endpointsPath, adminToken };
  }

  /** Stops components in reverse order, then the API server, then the store. Never throws. */
  async stop(): Promise<void> {
    for (const c of this.started.splice(0).reverse()) {
      try {
        await c.stop();
      } catch (e) {
        log.error({ err: e, component: c.name }, 'component failed to stop cleanly');
      }
    }
    this.informers?.stop();
    this.eventTtl?.stop();
    try {
      await this.api?.close();
    } catch (e) {
      log.error({ err: e }, 'api server failed to stop cleanly');
    }
    try {
      await this.store?.close();
    } catch (e) {
      log.error({ err: e }, 'store failed to close cleanly');
    }
    // Only our own endpoints.json: a failed start (e.g. the state dir is in use) leaves another's alone.
    if (this.wroteEndpoints) fs.rmSync(path.join(this.stateDir, 'endpoints.json'), { force: true });
    this.wroteEndpoints = false;
    this.api = undefined;
    this.store = undefined;
  }
}

/** Writes through a temp file and rename, so readers never see half a file. */
function writeAtomic(file: string, text: string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}
