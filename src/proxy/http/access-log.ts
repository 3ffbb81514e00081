/**
 * JSON access log lines with Envoy's default field names (as in Envoy's JSON format examples),
 * written through buffered streams. One logger per sink path, shared by listeners.
 */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { AccessLogSink } from '../config/model.ts';

export interface AccessLogEntry {
  start_time: string;
  method: string;
  path: string;
  protocol: string;
  response_code: number;
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  upstream_service_time: number | null;
  x_forwarded_for: string | null;
  user_agent: string | null;
  request_id: string;
  authority: string | null;
  upstream_host: string | null;
  upstream_cluster: string | null;
  route_name: string | null;
  downstream_remote_address: string | null;
  attempts: number;
}

export class AccessLogger {
  private readonly streams = new Map<string, Writable>();

  private stream(s: AccessLogSink): Writable {
    const key = s.kind === 'stdout' ? '-' : s.path!;
    let w = this.streams.get(key);
    if (!w) {
      w = s.kind === 'stdout' ? process.stdout : fs.createWriteStream(s.path!, { flags: 'a' });
      this.streams.set(key, w);
    }
    return w;
  }

  write(sinks: readonly AccessLogSink[], e: AccessLogEntry): void {
    if (sinks.length === 0) return;
    const line = JSON.stringify(e) + '\n';
    for (const s of sinks) this.stream(s).write(line);
  }

  async close(): Promise<void> {
    await Promise.all([...this.streams].filter(([k]) => k !== '-').map(([, w]) => new Promise<void>((res) => w.end(() => res()))));
    this.streams.clear();
  }
}

/** "-" joined flags, as Envoy prints them; "-" when none. */
export function formatFlags(flags: string[] | undefined): string {
  return flags && flags.length ? flags.join(',') : '-';
}
