/**
 * Records each pod process (pid + kernel start time) under STATE_DIR/pids so that a later
 * `sluice up` on the same state dir can kill processes a crashed run left behind. The start time
 * (field 22 of /proc/<pid>/stat) guards against killing an unrelated process that reused the pid.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PidRecord { pid: number; startTime?: string; namespace: string; pod: string }

export function procStartTime(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parens: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export class PidRegistry {
  private readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'pids');
    mkdirSync(this.dir, { recursive: true });
  }

  private file(ns: string, pod: string): string { return join(this.dir, `${ns}_${pod}.json`); }

  record(r: PidRecord): void {
    writeFileSync(this.file(r.namespace, r.pod), JSON.stringify({ ...r, startTime: r.startTime ?? procStartTime(r.pid) }));
  }

  forget(ns: string, pod: string): void { rmSync(this.file(ns, pod), { force: true }); }

  /** Kills (SIGKILL, whole process group) every recorded process still alive; returns what it killed. */
  killLeftovers(): PidRecord[] {
    const killed: PidRecord[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const path = join(this.dir, f);
      try {
        const r = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
        if (r.pid > 1 && isAlive(r.pid) && (!r.startTime || procStartTime(r.pid) === r.startTime)) {
          try { process.kill(-r.pid, 'SIGKILL'); } catch { /* not a group leader */ }
          try { process.kill(r.pid, 'SIGKILL'); } catch { /* already gone */ }
          killed.push(r);
        }
      } catch { /* unreadable record: drop it */ }
      rmSync(path, { force: true });
    }
    return killed;
  }
}
