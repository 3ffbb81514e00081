/**
 * CPU per pod for the CPU (HPA) class, the way metrics-server feeds a Kubernetes HPA: CPU time
 * the pod's process used between two samples, divided by the wall time between them and by the
 * pod's CPU request, as a percentage (100 = the pod used its full request). Read from
 * /proc/<pid>/stat (utime + stime, in clock ticks), which is what `ps` and cAdvisor read too.
 * A pod's first sample spans its whole life since it started.
 */
import fs from 'node:fs';
import { SluiceError } from '../lib/errors.ts';
import type { PodCpuSample } from './hpa-decider.ts';

/**
 * USER_HZ. Linux reports /proc times in units of sysconf(_SC_CLK_TCK), which is 100 on every
 * mainstream architecture; Node has no sysconf binding, so it is a constant here.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in clock ticks, or undefined when it is gone or unreadable. */
export function readProcCpuTicks(pid: number): number | undefined {
  let text: string;
  try { text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** A Kubernetes CPU quantity ("500m", "1", "0.25") in cores; `where` names the field in errors. */
export function parseCpuQuantity(q: string | number, where: string): number {
  const s = String(q).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  const cores = m ? Number(m[1]) / (m[2] ? 1000 : 1) : NaN;
  if (!(cores > 0)) throw new SluiceError('SLUICE_E_CPU_REQUEST', `${where}: invalid CPU quantity ${JSON.stringify(q)} (want e.g. "500m" or "1")`, { httpStatus: 400 });
  return cores;
}

export interface PodCpuInput {
  podId: string;
  pid: number | undefined;
  /** When the process started (epoch ms). */
  startedAt: number | undefined;
  ready: boolean;
  readySince?: number;
}

/** Keeps the last reading per pod and turns readings into utilization samples. */
export class PodCpuSampler {
  private readonly last = new Map<string, { pid: number; ticks: number; at: number }>();

  constructor(private readonly read: (pid: number) => number | undefined = readProcCpuTicks) {}

  /** One sample per pod; pods not listed are forgotten. `requestCores` = the pods' CPU request. */
  sample(pods: readonly PodCpuInput[], requestCores: number, now: number): PodCpuSample[] {
    const seen = new Set<string>();
    const out: PodCpuSample[] = [];
    for (const p of pods) {
      seen.add(p.podId);
      const base: PodCpuSample = { podId: p.podId, ready: p.ready, ...(p.readySince !== undefined ? { readySince: p.readySince } : {}) };
      const ticks = p.pid === undefined ? undefined : this.read(p.pid);
      if (ticks === undefined || p.pid === undefined) { out.push(base); continue; }
      const prev = this.last.get(p.podId);
      // A restarted container has a new pid: start over from its start time.
      const from = prev && prev.pid === p.pid ? prev : p.startedAt !== undefined ? { ticks: 0, at: p.startedAt } : undefined;
      this.last.set(p.podId, { pid: p.pid, ticks, at: now });
      const wallMs = from ? now - from.at : 0;
      if (!from || wallMs <= 0) { out.push(base); continue; }
      const cpuSeconds = (ticks - from.ticks) / CLOCK_TICKS_PER_SECOND;
      out.push({ ...base, cpuUtilization: (cpuSeconds / (wallMs / 1000) / requestCores) * 100, sampledFrom: from.at });
    }
    for (const id of this.last.keys()) if (!seen.has(id)) this.last.delete(id);
    return out;
  }
}
