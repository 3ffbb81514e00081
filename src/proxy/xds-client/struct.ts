/**
 * JSON value ↔ google.protobuf.Struct as @grpc/proto-loader serializes it. Struct and Value are
 * well-known types that proto-loader takes from protobufjs' bundled descriptors, which keep the
 * camelCase field names (`stringValue`, ...) even under keepCase: snake_case keys here would be
 * dropped silently and the control plane would see empty metadata.
 */
export type StructValue =
  | { nullValue: 'NULL_VALUE' } | { numberValue: number } | { stringValue: string } | { boolValue: boolean }
  | { structValue: { fields: Record<string, StructValue> } } | { listValue: { values: StructValue[] } };

export function toValue(v: unknown): StructValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

export function toStruct(o: Record<string, unknown>): { fields: Record<string, StructValue> } {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}
