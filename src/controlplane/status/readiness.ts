/**
 * Readiness from ACKs (no probing): an object's configuration is "applied" when every proxy
 * that must carry it has confirmed (ACKed every response of) a pipeline generation at or after
 * the one that first included the object's current spec.
 *
 * The verdict is a pure function of the object's inclusion generation and the proxies' states;
 * the tracker (readiness-tracker.ts) keeps those and asks for verdicts when something moves.
 */

export interface ProxyVote {
  id: string;
  /** Generation the proxy runs (every response ACKed); -1 before the first. */
  appliedGeneration: number;
  /** Standing NACKs: type URL → message. */
  nacks: ReadonlyMap<string, { message: string; version: string }>;
}

export type Verdict =
  | { state: 'no-proxy' }
  | { state: 'pending'; waiting: string[]; total: number }
  | { state: 'ready' }
  | { state: 'rejected'; proxy: string; type: string; version: string; message: string };

/** The verdict for an object first included in `generation`, given the proxies that must carry it. */
export function verdictFor(generation: number, proxies: readonly ProxyVote[]): Verdict {
  if (proxies.length === 0) return { state: 'no-proxy' };
  const waiting: string[] = [];
  for (const p of proxies) {
    if (p.appliedGeneration >= generation) continue;
    const nack = p.nacks.entries().next();
    if (!nack.done) {
      const [type, n] = nack.value;
      return { state: 'rejected', proxy: p.id, type, version: n.version, message: n.message };
    }
    waiting.push(p.id);
  }
  return waiting.length === 0 ? { state: 'ready' } : { state: 'pending', waiting, total: proxies.length };
}

/** `envoy.config.cluster.v3.Cluster` → `Cluster` for messages. */
export function typeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

export function verdictMessage(v: Verdict, role: string): string {
  switch (v.state) {
    case 'no-proxy': return `no ${role} proxy is connected to the xDS server, so nothing serves this configuration yet; start the ${role} (sluice up starts one)`;
    case 'pending': return `waiting for ${v.waiting.length} of ${v.total} ${role} proxies to acknowledge the configuration (${v.waiting.slice(0, 3).join(', ')}${v.waiting.length > 3 ? ', ...' : ''})`;
    case 'ready': return '';
    case 'rejected': return `${role} proxy ${v.proxy} rejected the ${typeName(v.type)} configuration (version ${v.version}): ${v.message}`;
  }
}
