/** Envoy's StringMatcher (and the legacy HeaderMatcher match fields) → precompiled test functions. */
import { compileFullMatch } from './re2-regex.ts';
import { type FieldCtx, type Obj } from './invalid-resource.ts';
import type { HeaderMatcher, QueryMatcher, StringTest } from './model.ts';
import { isSluiceError } from '../../lib/errors.ts';

function regex(ctx: FieldCtx, field: string, src: unknown, ignoreCase: boolean): RegExp {
  if (typeof src !== 'string') ctx.fail(field, 'regex must be a string');
  try {
    return compileFullMatch(src, ignoreCase);
  } catch (e) {
    if (isSluiceError(e)) ctx.fail(field, e.message);
    throw e;
  }
}

/** envoy.type.matcher.v3.StringMatcher → test; undefined when the matcher is empty. */
export function compileStringMatcher(ctx: FieldCtx, field: string, m: Obj | undefined): StringTest | undefined {
  if (!m) return undefined;
  const ic = m.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (typeof m.exact === 'string') { const v = norm(m.exact); return ic ? (s) => s.toLowerCase() === v : (s) => s === v; }
  if (typeof m.prefix === 'string') { const v = norm(m.prefix); return (s) => norm(s).startsWith(v); }
  if (typeof m.suffix === 'string') { const v = norm(m.suffix); return (s) => norm(s).endsWith(v); }
  if (typeof m.contains === 'string') { const v = norm(m.contains); return (s) => norm(s).includes(v); }
  if (m.safe_regex) { const re = regex(ctx, `${field}.safe_regex.regex`, m.safe_regex.regex, ic); return (s) => re.test(s); }
  if (m.custom) ctx.fail(`${field}.custom`, 'custom string matchers are not supported');
  ctx.fail(field, 'string matcher needs one of exact, prefix, suffix, contains, safe_regex');
}

/** envoy.config.route.v3.HeaderMatcher. */
export function compileHeaderMatcher(ctx: FieldCtx, field: string, h: Obj): HeaderMatcher {
  if (typeof h.name !== 'string' || h.name === '') ctx.fail(`${field}.name`, 'header name is required');
  const name = h.name.toLowerCase();
  const invert = h.invert_match === true;
  if (h.string_match) return { name, test: compileStringMatcher(ctx, `${field}.string_match`, h.string_match), present: false, invert };
  if (h.present_match !== undefined) return { name, present: h.present_match !== false, invert, test: undefined };
  if (typeof h.exact_match === 'string') { const v = h.exact_match; return { name, test: (s) => s === v, present: false, invert }; }
  if (typeof h.prefix_match === 'string') { const v = h.prefix_match; return { name, test: (s) => s.startsWith(v), present: false, invert }; }
  if (typeof h.suffix_match === 'string') { const v = h.suffix_match; return { name, test: (s) => s.endsWith(v), present: false, invert }; }
  if (typeof h.contains_match === 'string') { const v = h.contains_match; return { name, test: (s) => s.includes(v), present: false, invert }; }
  if (h.safe_regex_match) { const re = regex(ctx, `${field}.safe_regex_match.regex`, h.safe_regex_match.regex, false); return { name, test: (s) => re.test(s), present: false, invert }; }
  if (h.range_match) {
    const lo = Number(h.range_match.start), hi = Number(h.range_match.end);
    return { name, test: (s) => /^-?\d+$/.test(s) && Number(s) >= lo && Number(s) < hi, present: false, invert };
  }
  // No match specifier: Envoy treats it as a presence match.
  return { name, present: true, invert, test: undefined };
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export function compileQueryMatcher(ctx: FieldCtx, field: string, q: Obj): QueryMatcher {
  if (typeof q.name !== 'string' || q.name === '') ctx.fail(`${field}.name`, 'query parameter name is required');
  if (q.string_match) return { name: q.name, test: compileStringMatcher(ctx, `${field}.string_match`, q.string_match), present: false };
  return { name: q.name, present: true, test: undefined };
}
