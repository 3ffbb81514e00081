/** Readiness scenarios (bench/scenarios/*.yaml) and duration strings like `250ms`, `5s`, `10m`. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { SluiceError } from '../../lib/errors.ts';

export interface Scenario {
  name: string;
  description?: string;
  services: number;
  intervalMs: number;
  batch: number;
  namespaces: number;
  image: string;
  timeoutMs: number;
  annotations?: Record<string, string>;
}

export const SCENARIO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/scenarios');

export function parseDurationMs(s: string | number, where: string): number {
  if (typeof s === 'number') return s;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new SluiceError('SLUICE_E_BENCH_INPUT', `${where}: invalid duration "${s}" (want e.g. 250ms, 5s, 10m)`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * mult);
}

const KEYS = new Set(['description', 'services', 'interval', 'batch', 'namespaces', 'image', 'timeout', 'annotations']);

export function loadScenario(nameOrFile: string): Scenario {
  const file = fs.existsSync(nameOrFile) ? nameOrFile : path.join(SCENARIO_DIR, `${nameOrFile}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(SCENARIO_DIR) ? fs.readdirSync(SCENARIO_DIR).map((f) => f.replace(/\.yaml$/, '')).join(', ') : '';
    throw new SluiceError('SLUICE_E_BENCH_INPUT', `scenario "${nameOrFile}" not found (known: ${known})`);
  }
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const k of Object.keys(doc ?? {})) if (!KEYS.has(k)) throw new SluiceError('SLUICE_E_BENCH_INPUT', `${file}: unknown key "${k}"`);
  const int = (k: string, d: number) => {
    const v = doc[k] ?? d;
    if (!Number.isInteger(v) || (v as number) < 0) throw new SluiceError('SLUICE_E_BENCH_INPUT', `${file}: ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  return {
    name: path.basename(file, '.yaml'),
    description: doc.description as string | undefined,
    services: int('services', 10),
    intervalMs: parseDurationMs((doc.interval as string) ?? '1s', `${file}: interval`),
    batch: Math.max(1, int('batch', 1)),
    namespaces: Math.max(1, int('namespaces', 1)),
    image: (doc.image as string) ?? 'sluice/hello',
    timeoutMs: parseDurationMs((doc.timeout as string) ?? '5m', `${file}: timeout`),
    annotations: doc.annotations as Record<string, string> | undefined,
  };
}
