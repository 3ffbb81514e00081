/** Per-pod log files: STATE_DIR/logs/<namespace>/<pod>.log, kept after the pod exits. */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
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
