/**
 * Memory limits (`resources.limits.memory`), enforced three ways depending on what the OS and
 * the program allow:
 * 1. Node programs get `--max-old-space-size` (3/4 of the limit for the V8 heap), so V8 fails
 *    with a heap-out-of-memory error before the process grows past the limit.
 * 2. Other programs run under `prlimit --as=<bytes>` (RLIMIT_AS) when util-linux's prlimit is
 *    installed. Not used for Node: V8 reserves far more address space than it uses.
 * 3. Every pod with a limit is watched: its resident set (VmRSS in /proc/<pid>/status, Linux)
 *    is sampled and a pod over the limit is killed with reason OOMKilled (exit code 137).
 */
import { existsSync, readFileSync } from 'node:fs';
import { SluiceError } from '../lib/errors.ts';
import { RuntimeErrors, type ResolvedCommand } from './image-table.ts';

const UNITS: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** Kubernetes quantity → bytes ("128Mi", "1G", "512000", "1e9"). */
export function parseMemory(q: string, where = 'resources.limits.memory'): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kMGT]i?|Ki)?$/.exec(String(q).trim());
  if (!m) throw new SluiceError(RuntimeErrors.BadMemoryLimit, `${where}: "${q}" is not a memory quantity (examples: 128Mi, 1Gi, 500M)`, { httpStatus: 422 });
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2] ?? '']);
  if (bytes < 4 * 1024 * 1024) throw new SluiceError(RuntimeErrors.BadMemoryLimit, `${where}: "${q}" is below the 4Mi minimum a process needs`, { httpStatus: 422 });
  return bytes;
}

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

export interface LimitedCommand { file: string; args: string[]; enforcement: string[] }

/** Wraps a command so the OS enforces `limitBytes` where it can. */
export function applyMemoryLimit(cmd: ResolvedCommand, limitBytes: number | undefined): LimitedCommand {
  if (!limitBytes) return { file: cmd.file, args: cmd.args, enforcement: [] };
  const enforcement = ['rss-watchdog'];
  if (cmd.isNode) {
    const heapMb = Math.max(8, Math.floor((limitBytes / 1024 / 1024) * 0.75));
    if (!cmd.args.some((a) => a.startsWith('--max-old-space-size'))) {
      return { file: cmd.file, args: [`--max-old-space-size=${heapMb}`, ...cmd.args], enforcement: ['node-heap', ...enforcement] };
    }
    return { file: cmd.file, args: cmd.args, enforcement };
  }
  if (PRLIMIT) {
    return { file: PRLIMIT, args: [`--as=${limitBytes}`, '--', cmd.file, ...cmd.args], enforcement: ['rlimit-as', ...enforcement] };
  }
  return { file: cmd.file, args: cmd.args, enforcement };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined when unknown. */
export function readRss(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(s);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
