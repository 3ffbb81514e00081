/**
 * An open-loop, constant-rate HTTP/1.1 load generator for measuring added latency (used by
 * `npm run bench:proxy` for its half-rate rounds). autocannon's --overallRate is not constant
 * rate: each connection sends its per-second quota back to back at the start of every second and
 * then idles, so "half rate" is really full speed for part of each second, and its latencies are
 * whole milliseconds with a coordinated-omission correction of ceil(1/rate) = 1 ms that turns
 * every slow response into a run of synthetic samples. Here request i is due at
 * start + i / rate; it goes out on an idle keep-alive connection (Nagle off) as soon as the
 * event loop sees it due, and its latency runs from when it was due (so a request that had to
 * wait for a free connection or for the generator itself counts that wait) to the last byte of
 * its response, in microseconds. The first WARMUP_S are not recorded.
 *
 *   node --import tsx bench/proxy/open-loop.ts PORT HOST RATE DURATION_S [CONNECTIONS]
 * prints one JSON line: { rate, rps, requests, errors, non2xx, p50, p90, p99, p999, max (ms),
 * late_p99_ms (how late requests went out, p99: generator delay plus any wait for a connection),
 * service_p99_ms (from the actual write), max_backlog (requests that found all connections busy) }.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface OpenLoopResult {
  rate: number; rps: number; requests: number; errors: number; non2xx: number;
  p50: number; p90: number; p99: number; p999: number; max: number;
  late_p99_ms: number; service_p99_ms: number;
  /** Most requests ever waiting for a free connection: > 0 means all 64 were busy (the target fell behind the rate). */
  max_backlog: number;
}

const WARMUP_S = 1;

interface Conn { sock: net.Socket; buf: Buffer; due: number; sent: number; busy: boolean; dead: boolean }

export function openLoop(port: number, host: string, rate: number, durationS: number, connections = 64): Promise<OpenLoopResult> {
  const req = Buffer.from(`GET / HTTP/1.1\r\nhost: ${host}\r\nuser-agent: sluice-open-loop\r\n\r\n`);
  const cap = Math.ceil(rate * (durationS + 1)) + 1024;
  const lat = new Float64Array(cap), late = new Float64Array(cap), svc = new Float64Array(cap);
  let n = 0, errors = 0, non2xx = 0, completed = 0;
  const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, sub-µs resolution
  const idle: Conn[] = [];
  const backlog: number[] = []; // due times waiting for a free connection
  let recordFrom = 0;
  let maxBacklog = 0;

  const finish = (c: Conn, status: number) => {
    const t = now();
    if (c.due >= recordFrom && n < cap) {
      lat[n] = t - c.due; svc[n] = t - c.sent; late[n] = c.sent - c.due; n++;
      if (status < 200 || status >= 300) non2xx++;
    }
    completed++;
    c.busy = false;
    const due = backlog.shift();
    if (due !== undefined) send(c, due); else idle.push(c);
  };
  const send = (c: Conn, due: number) => {
    c.busy = true; c.due = due; c.sent = now();
    c.sock.write(req);
  };
  /** Parses as many complete responses as the buffer holds (Content-Length or chunked bodies). */
  const onData = (c: Conn, d: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    for (;;) {
      const he = c.buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = c.buf.toString('latin1', 0, he);
      const status = Number(head.slice(9, 12));
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let end: number;
      if (cl) {
        end = he + 4 + Number(cl[1]);
        if (c.buf.length < end) return;
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        let p = he + 4;
        for (;;) {
          const le = c.buf.indexOf('\r\n', p);
          if (le < 0) return;
          const size = parseInt(c.buf.toString('latin1', p, le), 16);
          if (size === 0) { const te = c.buf.indexOf('\r\n\r\n', le - 2 >= 0 ? le : p); if (te < 0) return; end = te + 4; break; }
          p = le + 2 + size + 2;
          if (c.buf.length < p) return;
        }
      } else { end = he + 4; }
      c.buf = c.buf.subarray(end);
      if (!c.busy) { errors++; continue; }
      finish(c, status);
    }
  };

  return new Promise((resolve) => {
    const conns: Conn[] = [];
    let opened = 0;
    for (let i = 0; i < connections; i++) {
      const c: Conn = { sock: net.connect(port, '127.0.0.1'), buf: Buffer.alloc(0), due: 0, sent: 0, busy: false, dead: false };
      c.sock.setNoDelay(true);
      c.sock.on('data', (d) => onData(c, d));
      c.sock.on('error', () => { /* counted on close */ });
      c.sock.on('close', () => { if (!c.dead) { c.dead = true; if (c.busy) errors++; const k = idle.indexOf(c); if (k >= 0) idle.splice(k, 1); } });
      c.sock.once('connect', () => { idle.push(c); if (++opened === connections) start(); });
      conns.push(c);
    }
    const start = () => {
      const t0 = now();
      recordFrom = t0 + WARMUP_S * 1000;
      const end = t0 + durationS * 1000;
      const interval = 1000 / rate;
      let next = t0;
      const tick = () => {
        const t = now();
        while (next <= t && next < end) {
          const c = idle.pop();
          if (c) send(c, next); else { backlog.push(next); if (backlog.length > maxBacklog) maxBacklog = backlog.length; }
          next += interval;
        }
        if (next < end) setTimeout(tick, Math.max(0, next - now() - 0.5));
        else setTimeout(done, 2000);
      };
      const done = () => {
        for (const c of conns) { c.dead = true; c.sock.destroy(); }
        errors += backlog.length;
        const pct = (a: Float64Array, q: number) => { if (!n) return 0; const s = a.slice(0, n).sort(); return Math.round(s[Math.min(n - 1, Math.floor(q * n))]! * 1000) / 1000; };
        resolve({ rate, rps: Math.round(n / (durationS - WARMUP_S)), requests: n, errors, non2xx, p50: pct(lat, 0.5), p90: pct(lat, 0.9), p99: pct(lat, 0.99), p999: pct(lat, 0.999), max: pct(lat, 1), late_p99_ms: pct(late, 0.99), service_p99_ms: pct(svc, 0.99), max_backlog: maxBacklog });
      };
      tick();
    };
  });
}

/** Runs openLoop in its own process (so the generator does not share the caller's event loop). */
export function runOpenLoop(port: number, host: string, rate: number, durationS: number, connections = 64): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(port), host, String(rate), String(durationS), String(connections)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.on('exit', () => { try { resolve(JSON.parse(out)); } catch { reject(new Error(`open-loop output not JSON: ${out.slice(0, 200)}`)); } });
  });
}

if (process.argv[1]?.endsWith('open-loop.ts')) {
  const [port, host, rate, duration, conns] = process.argv.slice(2);
  openLoop(Number(port), host!, Number(rate), Number(duration), Number(conns ?? 64)).then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); process.exit(0); });
}
