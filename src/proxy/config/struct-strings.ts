/**
 * google.protobuf.Struct as the proxy decodes it (`{ fields: { k: { stringValue } } }`, camelCase
 * well-known-type names) or as a plain object → its string-valued entries. Used for
 * transport-socket matches (cluster `transport_socket_matches[].match` and endpoint
 * `metadata.filter_metadata["envoy.transport_socket_match"]`).
 */
export function structStrings(s: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s || typeof s !== 'object') return out;
  const fields = (s as { fields?: unknown }).fields;
  const src = fields && typeof fields === 'object' ? (fields as Record<string, unknown>) : (s as Record<string, unknown>);
  for (const [k, v] of Object.entries(src)) {
    if (typeof v === 'string') out[k] = v;
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const str = o.stringValue ?? o.string_value;
      if (typeof str === 'string') out[k] = str;
    }
  }
  return out;
}

/** Whether `metadata` carries every key/value of `match` (an empty match matches everything). */
export function socketMatches(match: Readonly<Record<string, string>>, metadata: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, v] of Object.entries(match)) if (metadata?.[k] !== v) return false;
  return true;
}
