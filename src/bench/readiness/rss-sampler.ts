import fs from 'node:fs';

/** Samples the resident set size of named processes from /proc at a fixed period. */
export class RssSampler {
  private readonly data: Record<string, { t: number; mb: number }[]> = {};
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pids: Record<string, number>, periodMs: number) {
    for (const name of Object.keys(pids)) this.data[name] = [];
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
    this.timer.unref();
  }
  private sample(): void {
    const t = Date.now();
    for (const [name, pid] of Object.entries(this.pids)) {
      const mb = rssMb(pid);
      if (mb !== undefined) this.data[name]!.push({ t, mb });
    }
  }
  stop(): void { clearInterval(this.timer); this.sample(); }
  samples(): Record<string, { t: number; mb: number }[]> { return this.data; }
}

export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}
