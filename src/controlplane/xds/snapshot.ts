/**
 * An immutable, encoded, versioned view of one proxy scope's xDS resources: per type, per name,
 * the protobuf bytes and a content-hash version. The xDS streams only ever read snapshots; the
 * pipeline replaces a scope's snapshot on each change (go-control-plane's snapshot cache idea).
 *
 * Building a snapshot from the previous one re-encodes only what changed: a resource whose
 * canonical JSON equals the previous build's keeps its entry (bytes and version), and types the
 * caller did not recompute (an endpoint-only change recomputes only ClusterLoadAssignments) are
 * carried over whole. The version of a resource is a hash of its content, so two scopes (or two
 * control-plane runs) that build the same resource give it the same version — which is what
 * delta xDS `initial_resource_versions` needs on reconnect.
 */
import { createHash } from 'node:crypto';
import { encodeResource, PUSH_ORDER, TypeUrl, type ResourceTypeUrl } from '../../xds/protos.ts';
import { SluiceError, errorMessage } from '../../lib/errors.ts';
import { sameElements } from '../../lib/same-elements.ts';

/** Per type, resource name → plain resource object (proto field names). */
export type ResourceSet = Record<ResourceTypeUrl, Map<string, object>>;

export interface SnapshotEntry {
  readonly name: string;
  /** Content hash (16 hex chars). */
  readonly version: string;
  /** Encoded resource (the `value` of its google.protobuf.Any). */
  readonly value: Buffer;
  /**
   * A hash (96 bits of sha256) of the source object's JSON: lets the next build skip re-encoding
   * an equal object ('' for part-wise entries). Not the JSON itself: at 10,000 services the
   * gateway's JSON strings alone were ~12 MB per snapshot.
   */
  readonly jsonHash: string;
  /** The object it was built from: the next build reuses the entry when handed the same object. */
  readonly source?: object;
  /** Part-wise route configurations: JSON of everything but the virtual hosts, and the virtual host objects. */
  readonly parts?: { head: string; vhosts: readonly object[] };
}

export type TypeEntries = ReadonlyMap<string, SnapshotEntry>;

/**
 * How one type's entries differ from the entries they were built from (`from`): the names whose
 * entry is new or changed, and the names that left. A delta stream that was up to date with
 * `from` sends only these instead of comparing every name it holds — at 1,000 proxies holding
 * 10,000 virtual hosts each, that comparison was 10 million map lookups per change.
 */
export interface TypeDiff { readonly from: TypeEntries; readonly changed: readonly string[]; readonly removed: readonly string[] }

const EMPTY: TypeEntries = new Map();

/**
 * The diff each rebuilt entries map was built with (keyed by the map, so a connection holding
 * entries from a few builds back can walk forward to the current ones): a proxy that missed
 * intermediate snapshots (the push queue merged them, or a held push) still gets an O(changes)
 * response instead of a comparison of every name it holds.
 */
const linkOf = new WeakMap<TypeEntries, DiffLink>();
/** Identity of an entries map in the chain, without holding the map. */
const idOf = new WeakMap<TypeEntries, number>();
let nextEntriesId = 1;
/** How many builds back `changesBetween` walks before giving up (the caller then compares everything). */
export const MAX_DIFF_STEPS = 32;

/**
 * One step of the chain `changesBetween` walks: the names a build changed and removed, the id of
 * the map it was built from, and the step before it. Links hold links and ids, never the entries
 * maps (each holds every name of its type): when they held the maps, every build's map stayed
 * reachable from the newest one (at 2,000 services a control process held 530 old gateway maps,
 * 22 MB, growing with every flush), and with the chain cut at MAX_DIFF_STEPS, still 93 maps
 * (43 MB) at 10,000 services. The step MAX_DIFF_STEPS back is cut as each build is added.
 */
interface DiffLink { readonly fromId: number; readonly changed: readonly string[]; readonly removed: readonly string[]; prev: DiffLink | undefined }

function entriesId(m: TypeEntries): number {
  let id = idOf.get(m);
  if (id === undefined) idOf.set(m, (id = nextEntriesId++));
  return id;
}

function linkBuild(out: TypeEntries, diff: TypeDiff): void {
  const prev = linkOf.get(diff.from);
  linkOf.set(out, { fromId: entriesId(diff.from), changed: diff.changed, removed: diff.removed, prev });
  let link = prev;
  for (let i = 1; link?.prev && i < MAX_DIFF_STEPS; i++) link = link.prev;
  if (link) link.prev = undefined;
}

/**
 * Names changed (new or different version) and removed between two entries maps of one type, by
 * walking the builds from `from` to `to`; undefined when `to` does not descend from `from` within
 * MAX_DIFF_STEPS builds. Names may repeat; a name in `changed` may be gone from `to` and a name in
 * `removed` may be back in it (callers look each name up in `to`).
 */
export function changesBetween(from: TypeEntries, to: TypeEntries): { changed: string[]; removed: string[] } | undefined {
  const changed: string[] = [];
  const removed: string[] = [];
  if (from === to) return { changed, removed };
  const target = idOf.get(from);
  if (target === undefined) return undefined; // never built from: not an ancestor
  let link = linkOf.get(to);
  for (let i = 0; link && i < MAX_DIFF_STEPS; i++) {
    for (const n of link.changed) changed.push(n);
    for (const n of link.removed) removed.push(n);
    if (link.fromId === target) return { changed, removed };
    link = link.prev;
  }
  return undefined;
}

export function emptyResourceSet(): ResourceSet {
  const out = {} as ResourceSet;
  for (const t of PUSH_ORDER) out[t] = new Map();
  return out;
}

export function contentVersion(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

export class Snapshot {
  /** The pipeline generation this snapshot was built for. */
  readonly generation: number;
  private readonly types: ReadonlyMap<ResourceTypeUrl, TypeEntries>;
  private readonly diffs: ReadonlyMap<string, TypeDiff>;

  constructor(generation: number, types: ReadonlyMap<ResourceTypeUrl, TypeEntries>, diffs: ReadonlyMap<string, TypeDiff> = new Map()) {
    this.generation = generation;
    this.types = types;
    this.diffs = diffs;
  }

  /** How this type's entries differ from the previous build's, when they were rebuilt from it. */
  diff(type: string): TypeDiff | undefined {
    return this.diffs.get(type);
  }

  entries(type: string): TypeEntries {
    return this.types.get(type as ResourceTypeUrl) ?? EMPTY;
  }

  get(type: string, name: string): SnapshotEntry | undefined {
    return this.entries(type).get(name);
  }

  /** Total encoded bytes of one type (for the config-size metric). */
  bytes(type: string): number {
    let n = 0;
    for (const e of this.entries(type).values()) n += e.value.length;
    return n;
  }

  /** Names of every resource of every type, for tests and diagnostics. */
  names(type: string): string[] {
    return [...this.entries(type).keys()];
  }

  /** A copy whose generation is `generation` (content unchanged). */
  withGeneration(generation: number): Snapshot {
    return new Snapshot(generation, this.types, this.diffs);
  }

  /** True when every type has the same names at the same versions. */
  sameContent(other: Snapshot | undefined): boolean {
    if (!other) return false;
    for (const t of PUSH_ORDER) {
      const a = this.entries(t);
      const b = other.entries(t);
      if (a === b) continue;
      if (a.size !== b.size) return false;
      for (const [name, e] of a) if (b.get(name)?.version !== e.version) return false;
    }
    return true;
  }
}

/**
 * Route configurations with many virtual hosts (the gateway's: one per public host, 10,000 at
 * 10,000 services) are encoded part by part: each virtual host once (cached by object — the
 * translation reuses the objects of unchanged hosts), the configuration's bytes being its other
 * fields followed by the virtual hosts' (protobuf's repeated-field encoding concatenates). A
 * change of one host then costs one small encode and a copy, not an encode of every host, and
 * unchanged configurations are recognised by comparing the host objects, not their JSON.
 */
const PARTWISE_MIN_VHOSTS = 64;
const VIRTUAL_HOST_TYPE = 'type.googleapis.com/envoy.config.route.v3.VirtualHost';
const vhostBytes = new WeakMap<object, Buffer>();

function routeParts(obj: object): { head: string; vhosts: readonly object[] } | undefined {
  const vhosts = (obj as { virtual_hosts?: unknown }).virtual_hosts;
  if (!Array.isArray(vhosts) || vhosts.length < PARTWISE_MIN_VHOSTS || !vhosts.every((v) => typeof v === 'object' && v !== null)) return undefined;
  const { virtual_hosts: _v, ...rest } = obj as Record<string, unknown>;
  return { head: JSON.stringify(rest), vhosts };
}

function encodePartwise(name: string, parts: { head: string; vhosts: readonly object[] }): Buffer {
  const fail = (what: string, e: unknown): never => {
    throw new SluiceError('SLUICE_E_XDS_ENCODE', `cannot encode RouteConfiguration "${name}"${what}: ${errorMessage(e)}`, { cause: e, details: { type: TypeUrl.RouteConfiguration, name } });
  };
  let head: Buffer;
  try { head = encodeResource(TypeUrl.RouteConfiguration, JSON.parse(parts.head) as object); } catch (e) { return fail('', e); }
  const chunks: Buffer[] = [head];
  for (const vh of parts.vhosts) {
    let b = vhostBytes.get(vh);
    if (!b) {
      let enc: Buffer;
      try { enc = encodeResource(VIRTUAL_HOST_TYPE, vh); } catch (e) { return fail(` (virtual host "${(vh as { name?: string }).name ?? '?'}")`, e); }
      b = Buffer.concat([lengthDelimitedTag(2, enc.length), enc]); // virtual_hosts = 2
      vhostBytes.set(vh, b);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function lengthDelimitedTag(field: number, length: number): Buffer {
  const bytes = [(field << 3) | 2];
  let n = length;
  while (n > 0x7f) { bytes.push((n & 0x7f) | 0x80); n >>>= 7; }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** Names of `previous` that `now` does not have. */
function removedFrom(previous: TypeEntries, now: TypeEntries): string[] {
  const out: string[] = [];
  for (const name of previous.keys()) if (!now.has(name)) out.push(name);
  return out;
}

function sameSources(src: ReadonlyMap<string, object>, previous: TypeEntries): boolean {
  for (const [name, obj] of src) if (previous.get(name)?.source !== obj) return false;
  return true;
}

/**
 * Builds a snapshot. `only` limits which types are taken from `resources`; every other type is
 * carried over from `prev` unchanged. Throws SLUICE_E_XDS_ENCODE naming the type and resource
 * when a resource does not encode (nothing is published then).
 */
export function buildSnapshot(resources: Partial<ResourceSet>, generation: number, prev?: Snapshot, only?: ReadonlySet<ResourceTypeUrl>): Snapshot {
  const types = new Map<ResourceTypeUrl, TypeEntries>();
  const diffs = new Map<string, TypeDiff>();
  for (const type of PUSH_ORDER) {
    const previous = prev?.entries(type) ?? EMPTY;
    if (only && !only.has(type)) { types.set(type, previous); continue; }
    const src = resources[type];
    if (!src || src.size === 0) {
      if (previous.size === 0) { types.set(type, previous); continue; }
      const none: TypeEntries = new Map(); // its own map (not EMPTY): it is the key of its diff
      const diff = { from: previous, changed: [], removed: removedFrom(previous, none) };
      types.set(type, none);
      diffs.set(type, diff);
      linkBuild(none, diff);
      continue;
    }
    // Most rebuilds leave most types as they were (translation caches hand back the very same
    // objects): check that first without allocating, and keep the previous map when it holds.
    if (src.size === previous.size && sameSources(src, previous)) { types.set(type, previous); continue; }
    const out = new Map<string, SnapshotEntry>();
    const changed: string[] = [];
    for (const [name, obj] of src) {
      const old = previous.get(name);
      // Translation caches hand back the very same object for an unchanged resource.
      if (old && old.source === obj) { out.set(name, old); continue; }
      const parts = type === TypeUrl.RouteConfiguration ? routeParts(obj) : undefined;
      if (parts) {
        if (old?.parts && old.parts.head === parts.head && sameElements(old.parts.vhosts, parts.vhosts)) { out.set(name, old); continue; }
        const value = encodePartwise(name, parts);
        out.set(name, { name, version: contentVersion(value), value, jsonHash: '', source: obj, parts });
        changed.push(name);
        continue;
      }
      const jsonHash = createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 24);
      if (old && old.jsonHash === jsonHash) {
        // Equal content from a new object: the entry stays (same bytes and version) and now
        // answers to this object, so the next build of the same object skips the hash. Without
        // this, a resource rebuilt once with equal content (a scaled-to-zero revision's activator
        // assignment after its Endpoints changed) was hashed again on every build: O(services
        // at zero) per flush. Mutated in place so the map (and its identity) stays the previous one.
        (old as { source?: object }).source = obj;
        out.set(name, old);
        continue;
      }
      let value: Buffer;
      try {
        value = encodeResource(type, obj);
      } catch (e) {
        throw new SluiceError('SLUICE_E_XDS_ENCODE', `cannot encode ${type.slice(type.lastIndexOf('.') + 1)} "${name}": ${errorMessage(e)}`, { cause: e, details: { type, name } });
      }
      out.set(name, { name, version: contentVersion(value), value, jsonHash, source: obj });
      changed.push(name);
    }
    // Every name of `out` is in `previous` when the sizes match and nothing was new or changed.
    if (changed.length === 0 && out.size === previous.size) {
      // Keep the previous map's identity when nothing changed, so sameContent() is cheap.
      types.set(type, previous);
      continue;
    }
    const diff = { from: previous, changed, removed: out.size - changed.length < previous.size ? removedFrom(previous, out) : [] };
    types.set(type, out);
    diffs.set(type, diff);
    linkBuild(out, diff);
  }
  return new Snapshot(generation, types, diffs);
}
