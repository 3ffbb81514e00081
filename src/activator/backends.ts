/**
 * Where the activator learns a revision's ready pods: the revision's Endpoints (name = revision
 * name, one subset per pod), read from an informer cache and re-read on every Endpoints event.
 * The addresses are the pods' serving ports (the queue-proxy role in front of each pod), so the
 * activator reaches pods directly by address, never through a service VIP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoints } from '../api/types/core.ts';
import type { ForwardOutcome } from './forward.ts';
import type { InformerHandle } from '../controller/informer.ts';

export interface Backend {
  /** Stable per pod: `namespace/pod` (or `ip:port` without a targetRef). */
  id: string;
  host: string;
  port: number;
  /**
   * The pod's queue-proxy in this process, when it has one: the activator hands requests to it
   * directly instead of over a loopback connection (QueueProxy.accept).
   */
  local?: (req: IncomingMessage, res: ServerResponse, opts: { headers?: Record<string, string>; onResponse?: () => void }) => Promise<ForwardOutcome>;
}

export interface BackendSource {
  /** Ready pods of revision `namespace/name` now. */
  backends(revisionKey: string): Backend[];
  /** Calls `fn(revisionKey)` whenever a revision's pods may have changed. Returns an unsubscribe. */
  onChange(fn: (revisionKey: string) => void): () => void;
}

/** The ready addresses of one Endpoints object. Pure. */
export function readyBackends(ep: Endpoints | undefined): Backend[] {
  const out: Backend[] = [];
  for (const s of ep?.subsets ?? []) {
    const port = s.ports?.find((p) => p.name === 'http')?.port ?? s.ports?.[0]?.port;
    if (!port) continue;
    for (const a of s.addresses ?? []) {
      const ref = a.targetRef;
      out.push({ id: ref?.name ? `${ref.namespace ?? ep!.metadata.namespace ?? ''}/${ref.name}` : `${a.ip}:${port}`, host: a.ip, port });
    }
  }
  return out;
}

/** A BackendSource over an Endpoints informer (the control process's shared store). */
export function endpointsBackendSource(endpoints: InformerHandle<Endpoints>): BackendSource {
  const listeners = new Set<(key: string) => void>();
  const fire = (ep: Endpoints): void => {
    const key = `${ep.metadata.namespace ?? ''}/${ep.metadata.name ?? ''}`;
    for (const l of listeners) l(key);
  };
  endpoints.addHandler({ add: fire, update: (_o, n) => fire(n), delete: fire });
  return {
    backends(key) {
      const slash = key.indexOf('/');
      return readyBackends(endpoints.lister.get(key.slice(0, slash), key.slice(slash + 1)));
    },
    onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
  };
}

/**
 * Several sources as one: the union of their backends (first source wins on equal ids), and a
 * change in any of them is a change. sluice joins the Endpoints with the local runtime's own
 * view of ready pods: the same fact, learned without the two store round trips (pod status →
 * Endpoints) that lie between a pod passing its readiness probe and its Endpoints event.
 */
export function unionBackendSource(...sources: BackendSource[]): BackendSource {
  return {
    backends(key) {
      const seen = new Set<string>();
      const out: Backend[] = [];
      for (const s of sources) for (const b of s.backends(key)) if (!seen.has(b.id)) { seen.add(b.id); out.push(b); }
      return out;
    },
    onChange(fn) {
      const offs = sources.map((s) => s.onChange(fn));
      return () => { for (const off of offs) off(); };
    },
  };
}
