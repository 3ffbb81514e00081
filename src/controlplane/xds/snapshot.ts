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
import { encodeResource, PUSH_ORDER, type ResourceTypeUrl } from '../../xds/protos.ts';
import { SluiceError, errorMessage } from '../../lib/errors.ts';

/** Per type, resource name → plain resource object (proto field names). */
export type ResourceSet = Record<ResourceTypeUrl, Map<string, object>>;

export interface SnapshotEntry {
  readonly name: string;
  /** Content hash (16 hex chars). */
  readonly version: string;
  /** Encoded resource (the `value` of its google.protobuf.Any). */
  readonly value: Buffer;
  /** Canonical JSON of the source object; lets the next build skip re-encoding. */
  readonly json: string;
}

export type TypeEntries = ReadonlyMap<string, SnapshotEntry>;

const EMPTY: TypeEntries = new Map();

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

  constructor(generation: number, types: ReadonlyMap<ResourceTypeUrl, TypeEntries>) {
    this.generation = generation;
    this.types = types;
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
    return new Snapshot(generation, this.types);
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
 * Builds a snapshot. `only` limits which types are taken from `resources`; every other type is
 * carried over from `prev` unchanged. Throws SLUICE_E_XDS_ENCODE naming the type and resource
 * when a resource does not encode (nothing is published then).
 */
export function buildSnapshot(resources: Partial<ResourceSet>, generation: number, prev?: Snapshot, only?: ReadonlySet<ResourceTypeUrl>): Snapshot {
  const types = new Map<ResourceTypeUrl, TypeEntries>();
  for (const type of PUSH_ORDER) {
    const previous = prev?.entries(type) ?? EMPTY;
    if (only && !only.has(type)) { types.set(type, previous); continue; }
    const src = resources[type];
    if (!src || src.size === 0) { types.set(type, EMPTY); continue; }
    const out = new Map<string, SnapshotEntry>();
    let unchanged = src.size === previous.size;
    for (const [name, obj] of src) {
      const json = JSON.stringify(obj);
      const old = previous.get(name);
      if (old && old.json === json) { out.set(name, old); continue; }
      unchanged = false;
      let value: Buffer;
      try {
        value = encodeResource(type, obj);
      } catch (e) {
        throw new SluiceError('SLUICE_E_XDS_ENCODE', `cannot encode ${type.slice(type.lastIndexOf('.') + 1)} "${name}": ${errorMessage(e)}`, { cause: e, details: { type, name } });
      }
      out.set(name, { name, version: contentVersion(value), value, json });
    }
    // Keep the previous map's identity when nothing changed, so sameContent() is cheap.
    types.set(type, unchanged ? previous : out);
  }
  return new Snapshot(generation, types);
}
