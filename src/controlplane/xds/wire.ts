/**
 * ADS responses encoded once and written as bytes to every proxy that gets the same answer.
 *
 * At 1,000 proxies of one scope, one change is the same response 1,000 times: encoding it with
 * protobufjs per stream (and the per-stream allocation that comes with it) was most of a push's
 * cost in the control process (bench:push profile). Here each resource is encoded once per
 * snapshot entry (its `Resource` / `Any` wrapper around the already-encoded bytes), and a whole
 * response is encoded once per snapshot for each distinct content; the nonce is part of that
 * shared encoding. Nonces only need to be unique within one stream, so a shared nonce (`s<seq>`,
 * from one process-wide sequence) is fine as long as one stream never receives the same shared
 * response twice in a row — the connections pass the nonce they sent last, and a cache hit with
 * that nonce is encoded afresh under a new one.
 *
 * The ADS server's response serializer passes a Buffer through unchanged (see adsServerService).
 */
import protobuf from 'protobufjs';
import type { Snapshot, SnapshotEntry } from './snapshot.ts';

const { Writer } = protobuf;

/** What a delta response carries; `resources` are snapshot entries of `typeUrl`. */
export interface DeltaContent { systemVersion: string; typeUrl: string; resources: readonly SnapshotEntry[]; removed: readonly string[] }
/** What a state-of-the-world response carries. */
export interface SotwContent { version: string; typeUrl: string; resources: readonly SnapshotEntry[] }

export interface Encoded { bytes: Buffer; nonce: string }

let sharedSeq = 0;
/** A nonce for a shared response (connection nonces start with `c`). */
export function sharedNonce(): string { return `s${++sharedSeq}`; }

// Per entry: DeltaDiscoveryResponse.resources element (field 2, a Resource with name, version and
// the Any) and DiscoveryResponse.resources element (field 2, the Any), each with tag and length.
const deltaResourceBytes = new WeakMap<SnapshotEntry, Buffer>();
const sotwResourceBytes = new WeakMap<SnapshotEntry, Buffer>();

function anyBytes(w: protobuf.Writer, typeUrl: string, value: Uint8Array): protobuf.Writer {
  return w.uint32((1 << 3) | 2).string(typeUrl).uint32((2 << 3) | 2).bytes(value);
}

function deltaResource(typeUrl: string, e: SnapshotEntry): Buffer {
  let b = deltaResourceBytes.get(e);
  if (!b) {
    const w = Writer.create();
    w.uint32((2 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(e.version); // version = 1
    w.uint32((2 << 3) | 2).fork(); // resource = 2 (Any)
    anyBytes(w, typeUrl, e.value);
    w.ldelim();
    w.uint32((3 << 3) | 2).string(e.name); // name = 3
    w.ldelim();
    b = Buffer.from(w.finish());
    deltaResourceBytes.set(e, b);
  }
  return b;
}

function sotwResource(typeUrl: string, e: SnapshotEntry): Buffer {
  let b = sotwResourceBytes.get(e);
  if (!b) {
    const w = Writer.create();
    w.uint32((2 << 3) | 2).fork();
    anyBytes(w, typeUrl, e.value);
    w.ldelim();
    b = Buffer.from(w.finish());
    sotwResourceBytes.set(e, b);
  }
  return b;
}

const CONTROL_PLANE = Buffer.from(Writer.create().uint32((1 << 3) | 2).string('sluice').finish());

/** DeltaDiscoveryResponse bytes (fields: system_version_info 1, resources 2, type_url 4, nonce 5, removed_resources 6). */
export function encodeDelta(c: DeltaContent, nonce: string): Buffer {
  const head = Writer.create();
  head.uint32((1 << 3) | 2).string(c.systemVersion);
  const tail = Writer.create();
  tail.uint32((4 << 3) | 2).string(c.typeUrl);
  tail.uint32((5 << 3) | 2).string(nonce);
  for (const r of c.removed) tail.uint32((6 << 3) | 2).string(r);
  return Buffer.concat([head.finish(), ...c.resources.map((e) => deltaResource(c.typeUrl, e)), tail.finish()]);
}

/** DiscoveryResponse bytes (fields: version_info 1, resources 2, type_url 4, nonce 5, control_plane 6). */
export function encodeSotw(c: SotwContent, nonce: string): Buffer {
  const head = Writer.create();
  head.uint32((1 << 3) | 2).string(c.version);
  const tail = Writer.create();
  tail.uint32((4 << 3) | 2).string(c.typeUrl);
  tail.uint32((5 << 3) | 2).string(nonce);
  tail.uint32((6 << 3) | 2).bytes(CONTROL_PLANE);
  return Buffer.concat([head.finish(), ...c.resources.map((e) => sotwResource(c.typeUrl, e)), tail.finish()]);
}

interface Cached { key: string; resources: readonly SnapshotEntry[]; removed: readonly string[]; encoded: Encoded }
const MAX_PER_TYPE = 8;
const responseCache = new WeakMap<Snapshot, Map<string, Cached[]>>();

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The shared encoding of a response for `snap`: the same content (same entries, same removals,
 * same version) from the same snapshot gives the same bytes and nonce; built on first use.
 * `avoidNonce`: the nonce the stream got last for this type; a hit with that nonce is not shared.
 */
export function sharedResponse(snap: Snapshot, key: string, resources: readonly SnapshotEntry[], removed: readonly string[], avoidNonce: string | undefined,
  encode: (nonce: string) => Buffer): Encoded {
  let byType = responseCache.get(snap);
  if (!byType) responseCache.set(snap, (byType = new Map()));
  let list = byType.get(key);
  if (!list) byType.set(key, (list = []));
  for (const c of list) {
    if (sameList(c.resources, resources) && sameList(c.removed, removed)) {
      if (c.encoded.nonce === avoidNonce) break;
      return c.encoded;
    }
  }
  const nonce = sharedNonce();
  const encoded = { bytes: encode(nonce), nonce };
  list.unshift({ key, resources: [...resources], removed: [...removed], encoded });
  if (list.length > MAX_PER_TYPE) list.pop();
  return encoded;
}
