/** JSON value ↔ google.protobuf.Struct as @grpc/proto-loader expects it (keepCase field names). */
export type StructValue =
  | { null_value: 'NULL_VALUE' } | { number_value: number } | { string_value: string } | { bool_value: boolean }
  | { struct_value: { fields: Record<string, StructValue> } } | { list_value: { values: StructValue[] } };

export function toValue(v: unknown): StructValue {
  if (v === null || v === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(toValue) } };
  return { struct_value: toStruct(v as Record<string, unknown>) };
}

export function toStruct(o: Record<string, unknown>): { fields: Record<string, StructValue> } {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}
