/** Per-pod log files: STATE_DIR/logs/<namespace>/<pod>.log, kept after the pod exits. */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function podLogPath(stateDir: string, namespace: string, pod: string): string {
  return join(stateDir, 'logs', namespace, `${pod}.log`);
}

export function openPodLog(stateDir: string, namespace: string, pod: string): { fd: number; path: string; size: number } {
  const dir = join(stateDir, 'logs', namespace);
  mkdirSync(dir, { recursive: true });
  const path = podLogPath(stateDir, namespace, pod);
  const fd = openSync(path, 'a');
  return { fd, path, size: fstatSync(fd).size };
}

/** The last `n` lines written at or after byte `from` (at most 64 KiB read). */
export function tailLines(path: string, n: number, from = 0): string[] {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return []; }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 65536);
    if (size <= start) return [];
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

/** Which service/revision a log file belongs to: written beside it as `<pod>.meta.json`. */
export interface PodLogMeta { pod: string; namespace: string; service?: string; configuration?: string; revision: string; createdAt: string }

export function writePodLogMeta(stateDir: string, m: PodLogMeta): void {
  const dir = join(stateDir, 'logs', m.namespace);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${m.pod}.meta.json`), JSON.stringify(m) + '\n');
}

export interface PodLogFile extends PodLogMeta { path: string; mtimeMs: number }

/** Log files of a namespace matching the filter, oldest first. */
export function listPodLogs(stateDir: string, namespace: string, filter: { service?: string; revision?: string } = {}): PodLogFile[] {
  const dir = join(stateDir, 'logs', namespace);
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const out: PodLogFile[] = [];
  for (const f of names) {
    if (!f.endsWith('.meta.json')) continue;
    let m: PodLogMeta;
    try { m = JSON.parse(readFileSync(join(dir, f), 'utf8')) as PodLogMeta; } catch { continue; }
    if (filter.service && m.service !== filter.service) continue;
    if (filter.revision && m.revision !== filter.revision) continue;
    const path = podLogPath(stateDir, namespace, m.pod);
    let mtimeMs = 0;
    try { mtimeMs = statSync(path).mtimeMs; } catch { /* no output yet */ }
    out.push({ ...m, path, mtimeMs });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.pod.localeCompare(b.pod));
}
