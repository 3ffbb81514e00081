/**
 * Test helpers: every emitted resource must encode with encodeResource AND use only field names
 * the Envoy .proto defines (protobufjs' fromObject ignores unknown keys, so a misspelt field
 * would otherwise vanish silently).
 */
import assert from 'node:assert/strict';
import type protobuf from 'protobufjs';
import { encodeResource, envoyRoot, messageType, PUSH_ORDER } from '../../../xds/protos.ts';
import type { ResourceSet } from '../types.ts';

const WRAPPERS = new Set(['google.protobuf.Duration', 'google.protobuf.Struct', 'google.protobuf.Value']);

function checkFields(type: protobuf.Type, obj: unknown, path: string): void {
  if (obj === null || typeof obj !== 'object') return;
  const o = obj as Record<string, unknown>;
  if (type.fullName === '.google.protobuf.Any') {
    const url = o['@type'];
    assert.equal(typeof url, 'string', `${path}: Any without @type`);
    const inner = envoyRoot().lookupType((url as string).slice((url as string).lastIndexOf('/') + 1));
    const { ['@type']: _t, ...rest } = o;
    checkFields(inner, rest, `${path}<${inner.name}>`);
    return;
  }
  if (WRAPPERS.has(type.fullName.slice(1))) return;
  for (const [k, v] of Object.entries(o)) {
    const f = type.fields[k];
    assert.ok(f, `${path}.${k}: no field "${k}" in ${type.fullName}`);
    f.resolve();
    if (!(f.resolvedType && 'fields' in f.resolvedType)) continue;
    const t = f.resolvedType as protobuf.Type;
    if (f.map) for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) checkFields(t, mv, `${path}.${k}[${mk}]`);
    else if (Array.isArray(v)) v.forEach((x, i) => checkFields(t, x, `${path}.${k}[${i}]`));
    else checkFields(t, v, `${path}.${k}`);
  }
}

/** Asserts the resource uses only known fields and encodes. Returns the bytes. */
export function assertEncodes(typeUrl: string, obj: object): Buffer {
  checkFields(messageType(typeUrl), obj, typeUrl.slice(typeUrl.lastIndexOf('.') + 1));
  return encodeResource(typeUrl, obj);
}

/** assertEncodes for every resource of a set; returns the number of resources checked. */
export function assertSetEncodes(set: ResourceSet): number {
  let n = 0;
  for (const t of PUSH_ORDER) for (const r of set[t].values()) { assertEncodes(t, r); n++; }
  return n;
}
