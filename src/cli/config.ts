/**
 * sluice's configuration file (YAML). Top-level sections: api, store, domain, images,
 * autoscaler, proxy, controlplane. An unknown key is an error naming the key and file:line, so a
 * typo never silently falls back to a default. This module parses the sections the control
 * process itself needs (api, store, domain); the other sections are handed to their owners as
 * plain records, with `configLine` to point at their keys in errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { SluiceError } from '../lib/errors.ts';
import { parseGoDuration } from '../autoscaler/duration.ts';

export const ConfigErrors = {
  Read: 'SLUICE_E_CONFIG_READ',
  Syntax: 'SLUICE_E_CONFIG_SYNTAX',
  UnknownKey: 'SLUICE_E_CONFIG_UNKNOWN_KEY',
  Invalid: 'SLUICE_E_CONFIG_INVALID',
} as const;

export interface ApiConfig {
  /** Port of the API server (0 = pick a free one). */
  port: number;
  host: string;
  /** Request body limit in bytes. */
  bodyLimitBytes: number;
}
export interface StoreConfig {
  backend: 'sqlite' | 'memory';
  /** SQLite file; relative paths are relative to the state dir (default `state.db`). */
  path: string;
  /**
   * SQLite `synchronous` in WAL mode. `full` (default): a write is acknowledged after fsync, so
   * neither a crash nor a power loss loses it. `normal`: no fsync per commit; a process crash or
   * kill -9 still loses nothing acknowledged, a power loss or OS crash can lose the last commits.
   */
  synchronous: 'full' | 'normal';
  /**
   * How long an Event lives after its last write (kube-apiserver's --event-ttl, default 1 h);
   * 0 keeps Events forever. Without a TTL they only accumulate in the store and its memory.
   */
  eventTtlMs: number;
}

export interface SluiceConfig {
  api: ApiConfig;
  store: StoreConfig;
  /** Domain of service URLs: `http://NAME.NAMESPACE.DOMAIN`. */
  domain: string;
  images: Record<string, unknown>;
  autoscaler: Record<string, unknown>;
  proxy: Record<string, unknown>;
  controlplane: Record<string, unknown>;
  /** The file it was read from (undefined for built-in defaults). */
  file?: string;
  /** Line of a dotted key path (`autoscaler.window`) in the file, for error messages; undefined when absent. */
  lineOf(keyPath: string): number | undefined;
}

export const SECTIONS = ['api', 'store', 'domain', 'images', 'autoscaler', 'proxy', 'controlplane'] as const;
const API_KEYS = ['port', 'host', 'bodyLimitBytes'];
const STORE_KEYS = ['backend', 'path', 'synchronous', 'eventTTL'];

export function defaultConfig(): SluiceConfig {
  return {
    api: { port: 7070, host: '127.0.0.1', bodyLimitBytes: 3 * 1024 * 1024 },
    store: { backend: 'sqlite', path: 'state.db', synchronous: 'full', eventTtlMs: 3_600_000 },
    domain: 'sluice.localhost',
    images: {},
    autoscaler: {},
    proxy: {},
    controlplane: {},
    lineOf: () => undefined,
  };
}

function nodeLine(node: Node | null | undefined, lc: LineCounter): number | undefined {
  const r = node?.range;
  return r ? lc.linePos(r[0]).line : undefined;
}

/** Finds the key node of a dotted path in the document, for line numbers. */
function keyNode(doc: Document, keyPath: string): Node | undefined {
  let cur: unknown = doc.contents;
  let key: Node | undefined;
  for (const part of keyPath.split('.')) {
    if (!isMap(cur)) return undefined;
    const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === part);
    if (!pair) return undefined;
    key = pair.key as Node;
    cur = pair.value;
  }
  return key;
}

/** Loads the config file; without one, the defaults. Throws SluiceError naming file:line. */
export function loadConfig(file?: string): SluiceConfig {
  const cfg = defaultConfig();
  if (!file) return cfg;
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new SluiceError(ConfigErrors.Read, `cannot read config file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = err.linePos?.[0];
    throw new SluiceError(ConfigErrors.Syntax, `${file}:${pos ? `${pos.line}:${pos.col}` : '?'}: invalid YAML: ${err.message.split('\n')[0]}`);
  }
  cfg.file = abs;
  cfg.lineOf = (keyPath) => nodeLine(keyNode(doc, keyPath), lc);
  const where = (keyPath: string): string => `${file}:${cfg.lineOf(keyPath) ?? 1}`;
  const root = doc.toJS() as unknown;
  if (root === null || root === undefined) return cfg;
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new SluiceError(ConfigErrors.Invalid, `${file}:1: the config file must be a mapping of sections (${SECTIONS.join(', ')})`);
  }
  const obj = root as Record<string, unknown>;
  const invalid = (keyPath: string, what: string): SluiceError => new SluiceError(ConfigErrors.Invalid, `${where(keyPath)}: ${keyPath}: ${what}`);
  const unknown = (keyPath: string, allowed: readonly string[]): SluiceError =>
    new SluiceError(ConfigErrors.UnknownKey, `${where(keyPath)}: unknown config key "${keyPath}" (expected one of: ${allowed.join(', ')})`);
  const section = (name: string): Record<string, unknown> => {
    const v = obj[name];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(name, 'must be a mapping');
    return v as Record<string, unknown>;
  };

  for (const key of Object.keys(obj)) if (!(SECTIONS as readonly string[]).includes(key)) throw unknown(key, SECTIONS);

  const api = section('api');
  for (const key of Object.keys(api)) if (!API_KEYS.includes(key)) throw unknown(`api.${key}`, API_KEYS);
  if (api.port !== undefined) {
    if (!Number.isInteger(api.port) || (api.port as number) < 0 || (api.port as number) > 65535) throw invalid('api.port', `must be a port number 0-65535, got ${JSON.stringify(api.port)}`);
    cfg.api.port = api.port as number;
  }
  if (api.host !== undefined) {
    if (typeof api.host !== 'string' || api.host === '') throw invalid('api.host', 'must be a host name or address');
    cfg.api.host = api.host;
  }
  if (api.bodyLimitBytes !== undefined) {
    if (!Number.isInteger(api.bodyLimitBytes) || (api.bodyLimitBytes as number) < 1024) throw invalid('api.bodyLimitBytes', 'must be an integer ≥ 1024');
    cfg.api.bodyLimitBytes = api.bodyLimitBytes as number;
  }

  const store = section('store');
  for (const key of Object.keys(store)) if (!STORE_KEYS.includes(key)) throw unknown(`store.${key}`, STORE_KEYS);
  if (store.backend !== undefined) {
    if (store.backend !== 'sqlite' && store.backend !== 'memory') throw invalid('store.backend', `must be "sqlite" or "memory", got ${JSON.stringify(store.backend)}`);
    cfg.store.backend = store.backend;
  }
  if (store.path !== undefined) {
    if (typeof store.path !== 'string' || store.path === '') throw invalid('store.path', 'must be a file path');
    cfg.store.path = store.path;
  }
  if (store.synchronous !== undefined) {
    if (store.synchronous !== 'full' && store.synchronous !== 'normal') throw invalid('store.synchronous', `must be "full" or "normal", got ${JSON.stringify(store.synchronous)}`);
    cfg.store.synchronous = store.synchronous;
  }
  if (store.eventTTL !== undefined) {
    const ms = typeof store.eventTTL === 'string' ? parseGoDuration(store.eventTTL) : undefined;
    if (ms === undefined) throw invalid('store.eventTTL', `must be a duration such as "1h" or "30m" ("0s" keeps Events forever), got ${JSON.stringify(store.eventTTL)}`);
    cfg.store.eventTtlMs = ms;
  }

  if (obj.domain !== undefined) {
    if (typeof obj.domain !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(obj.domain)) throw invalid('domain', `must be a DNS domain such as sluice.localhost, got ${JSON.stringify(obj.domain)}`);
    cfg.domain = obj.domain;
  }
  cfg.images = section('images');
  cfg.autoscaler = section('autoscaler');
  cfg.proxy = section('proxy');
  cfg.controlplane = section('controlplane');
  return cfg;
}
