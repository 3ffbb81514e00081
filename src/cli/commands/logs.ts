/**
 * `sluice logs SERVICE [-n NS] [-f] [--revision R] [--tail N]`: prints the logs of a Service's
 * pods from the per-pod files the runtime keeps under STATE_DIR/logs/<ns>/ (also for pods that
 * have exited). With several pods each line is prefixed with `[pod]`. `-f` keeps following:
 * new output of existing pods and the logs of pods started later (files are polled every
 * 250 ms: fs.watch misses appends on some filesystems).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SluiceError } from '../../lib/errors.ts';
import { listPodLogs, tailLines, type PodLogFile } from '../../runtime/pod-logs.ts';

export const LogsErrors = { NoLogs: 'SLUICE_E_LOGS_NOT_FOUND' } as const;

interface LogsOptions { namespace: string; follow?: boolean; revision?: string; tail?: number; stateDir: string; prefix?: boolean }

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a line count`);
  return Number(v);
}

/** Reads a file from `from` to its end; returns the text and the new offset. */
function readFrom(file: string, from: number): { text: string; end: number } {
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return { text: '', end: from }; }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= from) return { text: '', end: size < from ? 0 : from };
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return { text: buf.toString('utf8'), end: size };
  } finally {
    fs.closeSync(fd);
  }
}

export function formatLines(text: string, pod: string | undefined): string {
  if (!text) return '';
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((l) => (pod ? `[${pod}] ${l}` : l)).join('\n') + '\n';
}

/** Prints the current logs; returns each file's offset for following. */
export function printLogs(files: PodLogFile[], o: { tail?: number; prefix: boolean }, write: (s: string) => void): Map<string, number> {
  const offsets = new Map<string, number>();
  for (const f of files) {
    const pod = o.prefix ? f.pod : undefined;
    if (o.tail !== undefined) {
      const lines = o.tail === 0 ? [] : tailLines(f.path, o.tail);
      if (lines.length) write(formatLines(lines.join('\n') + '\n', pod));
      offsets.set(f.path, fileSize(f.path));
    } else {
      const { text, end } = readFrom(f.path, 0);
      write(formatLines(text, pod));
      offsets.set(f.path, end);
    }
  }
  return offsets;
}

function fileSize(p: string): number { try { return fs.statSync(p).size; } catch { return 0; } }

export function register(program: Command): void {
  program
    .command('logs')
    .description("print the logs of a Service's pods (kept after the pods exit)")
    .argument('<service>', 'Knative Service name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-f, --follow', 'keep printing new output (and pods started later) until interrupted')
    .option('--revision <name>', 'only pods of this revision')
    .option('--tail <lines>', 'only the last N lines of each pod', parseCount)
    .option('--prefix', 'prefix every line with its pod name (the default with more than one pod)')
    .option('--state-dir <dir>', 'state dir of `sluice up` (logs are under <dir>/logs)', './.sluice')
    .action(async (service: string, o: LogsOptions) => {
      const stateDir = path.resolve(o.stateDir);
      const filter = { service, revision: o.revision };
      const files = listPodLogs(stateDir, o.namespace, filter);
      if (files.length === 0 && !o.follow) {
        throw new SluiceError(LogsErrors.NoLogs,
          `no logs for service "${service}"${o.revision ? ` revision "${o.revision}"` : ''} in namespace "${o.namespace}" under ${path.join(stateDir, 'logs', o.namespace)}: check the name with \`sluice get ksvc -n ${o.namespace}\` and the --state-dir`);
      }
      const write = (s: string): void => { if (s) process.stdout.write(s); };
      const prefix = o.prefix ?? files.length > 1;
      const offsets = printLogs(files, { tail: o.tail, prefix }, write);
      if (!o.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = listPodLogs(stateDir, o.namespace, filter);
          const many = o.prefix ?? now.length > 1;
          for (const f of now) {
            const { text, end } = readFrom(f.path, offsets.get(f.path) ?? 0);
            offsets.set(f.path, end);
            write(formatLines(text, many ? f.pod : undefined));
          }
        }, 250);
        const stop = (): void => { clearInterval(timer); resolve(); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
