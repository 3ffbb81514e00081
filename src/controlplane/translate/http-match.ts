/**
 * Pieces shared by the Ingress and VirtualService route builders: Istio/Knative string matches
 * → Envoy StringMatcher / HeaderMatcher / QueryParameterMatcher, and header operations →
 * HeaderValueOption lists (set = overwrite, add = append).
 */
import type { HeaderOperations, StringMatch } from '../../api/types/istio.ts';

/** Envoy StringMatcher for an Istio StringMatch; undefined for an empty match (presence only). */
export function stringMatcher(m: StringMatch, ignoreCase = false): Record<string, unknown> | undefined {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (m.exact !== undefined) return { exact: m.exact, ...ic };
  if (m.prefix !== undefined) return { prefix: m.prefix, ...ic };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

export function headerMatcher(name: string, m: StringMatch, invert = false): object {
  const sm = stringMatcher(m);
  return { name: name.toLowerCase(), ...(sm ? { string_match: sm } : { present_match: true }), ...(invert ? { invert_match: true } : {}) };
}

export function queryMatcher(name: string, m: StringMatch): object {
  const sm = stringMatcher(m);
  return { name, ...(sm ? { string_match: sm } : { present_match: true }) };
}

type Mode = 'OVERWRITE_IF_EXISTS_OR_ADD' | 'APPEND_IF_EXISTS_OR_ADD';
export function headerValues(h: Record<string, string> | undefined, mode: Mode): object[] {
  return Object.keys(h ?? {}).sort().map((k) => ({ header: { key: k, value: h![k] }, append_action: mode }));
}

/** request_/response_ headers_to_add and _to_remove for Istio header operations. */
export function headerOperations(ops: HeaderOperations | undefined, dir: 'request' | 'response'): Record<string, unknown> {
  if (!ops) return {};
  const add = [...headerValues(ops.set, 'OVERWRITE_IF_EXISTS_OR_ADD'), ...headerValues(ops.add, 'APPEND_IF_EXISTS_OR_ADD')];
  const out: Record<string, unknown> = {};
  if (add.length) out[`${dir}_headers_to_add`] = add;
  if (ops.remove?.length) out[`${dir}_headers_to_remove`] = [...ops.remove];
  return out;
}

/** Merges header-operation field sets (lists concatenate). */
export function mergeHeaderFields(...parts: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = [...((out[k] as unknown[]) ?? []), ...(v as unknown[])];
  return out;
}
