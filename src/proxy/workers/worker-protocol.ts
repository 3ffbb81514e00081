/** Messages between the proxy supervisor and its worker processes (node:cluster IPC). */
import type { StatSample } from '../stats/proxy-stats.ts';

export type ToWorker =
  | { type: 'query'; id: number; what: 'samples' | 'config_dump' | 'info' }
  | { type: 'drain'; timeoutMs: number };

export type FromWorker =
  | { type: 'reply'; id: number; samples?: StatSample[]; dump?: object; info?: object }
  | { type: 'status'; ready: boolean; rssMb: number; ports: Record<string, number> }
  | { type: 'drained' };

/** Env var carrying the resolved bootstrap (JSON) to workers. */
export const WORKER_BOOTSTRAP_ENV = 'SLUICE_PROXY_BOOTSTRAP_JSON';
export const STATUS_INTERVAL_MS = 500;
