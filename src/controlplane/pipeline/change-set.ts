/**
 * What changed since the last push: the kinds and object keys observed during one debounce
 * window, merged. An all-endpoint change set lets the pipeline recompute only
 * ClusterLoadAssignments (Istio's "EDS-only" push), skipping listeners, routes and clusters.
 */

export interface Change {
  /** Resource id (`core/endpoints`, `networking.istio.io/virtualservices`, ...). */
  kind: string;
  /** `namespace/name` (or `name` for cluster-scoped kinds). */
  key: string;
  /** True when only endpoint addresses changed (the change cannot affect anything but EDS). */
  endpointsOnly?: boolean;
}

export interface ChangeSet {
  /** kind → keys changed. */
  readonly changes: Map<string, Set<string>>;
  /** Every change in the set was endpoint-only. */
  endpointsOnly: boolean;
  /** When the first change of the set was observed (ms). */
  firstAt: number;
  /** When the latest change was observed (ms). */
  lastAt: number;
  /** Number of change events merged into the set. */
  events: number;
}

export function newChangeSet(at: number): ChangeSet {
  return { changes: new Map(), endpointsOnly: true, firstAt: at, lastAt: at, events: 0 };
}

export function addChange(cs: ChangeSet, change: Change, at: number): void {
  let keys = cs.changes.get(change.kind);
  if (!keys) { keys = new Set(); cs.changes.set(change.kind, keys); }
  keys.add(change.key);
  if (!change.endpointsOnly) cs.endpointsOnly = false;
  cs.lastAt = Math.max(cs.lastAt, at);
  cs.firstAt = Math.min(cs.firstAt, at);
  cs.events++;
}

/** Merges `b` into `a` (a queued full push absorbs a later endpoint-only one, and vice versa). */
export function mergeChangeSets(a: ChangeSet, b: ChangeSet): ChangeSet {
  for (const [kind, keys] of b.changes) {
    let ak = a.changes.get(kind);
    if (!ak) { ak = new Set(); a.changes.set(kind, ak); }
    for (const k of keys) ak.add(k);
  }
  a.endpointsOnly = a.endpointsOnly && b.endpointsOnly;
  a.firstAt = Math.min(a.firstAt, b.firstAt);
  a.lastAt = Math.max(a.lastAt, b.lastAt);
  a.events += b.events;
  return a;
}

export function describeChangeSet(cs: ChangeSet): string {
  const parts = [...cs.changes].map(([kind, keys]) => `${kind}×${keys.size}`);
  return `${cs.events} event(s): ${parts.join(', ') || 'none'}${cs.endpointsOnly ? ' (endpoints only)' : ''}`;
}
