/**
 * Ports for pods, queue-proxies and mesh listeners, picked below the kernel's ephemeral range.
 *
 * A port found free by binding port 0 comes from the ephemeral range, the same range the kernel
 * draws the local ports of outgoing connections from. On a busy machine (proxies and the
 * activator connect to pods all the time) such a port is often taken by an outgoing connection
 * before its listener binds it, and the bind fails with EADDRINUSE (seen: a mesh inbound listener
 * retrying for 80 s). Ports below the ephemeral range are never handed to outgoing connections,
 * so a port that binds here stays free until something listens on it. Each call tries ports
 * from a random starting point (several sluice instances on one machine rarely meet) and
 * falls back to port 0 when the range is unknown or full.
 */
import fs from 'node:fs';
import { createServer } from 'node:net';

/** The ports below the ephemeral range that pods may use, or undefined (use port 0). */
export function podPortRange(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | undefined {
  try {
    const lo = Number(fs.readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    // Keep clear of well-known and commonly configured ports: 10000 up to the ephemeral range.
    if (Number.isInteger(lo) && lo > 12_000) return [10_000, lo - 1];
  } catch { /* not Linux: port 0 */ }
  return undefined;
}

const RANGE = podPortRange();
let cursor = -1;

function tryBind(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}

/** A port that was free on 127.0.0.1 a moment ago (see the file comment for why not port 0). */
export async function freePort(): Promise<number> {
  if (RANGE) {
    const [lo, hi] = RANGE;
    const span = hi - lo + 1;
    if (cursor < 0) cursor = lo + Math.floor(Math.random() * span);
    for (let i = 0; i < 64; i++) {
      cursor = cursor >= hi ? lo : cursor + 1;
      const p = await tryBind(cursor);
      if (p !== undefined) return p;
    }
  }
  const p = await tryBind(0);
  if (p === undefined) throw new Error('no free port on 127.0.0.1');
  return p;
}
