/**
 * Kubernetes label selectors: parsing and matching.
 *
 * Grammar (k8s.io/apimachinery/pkg/labels): requirements joined by `,` (AND), each one of
 *   key | !key | key=v | key==v | key!=v | key in (v1,v2) | key notin (v1) | key>n | key<n
 * Written by hand because no maintained npm package implements this grammar with Kubernetes'
 * semantics (`!=` and `notin` also match objects without the label); it is a small lexer and a
 * recursive-descent parser. Parsed selectors are cached: watch and list parse the same strings.
 */
import { badRequest } from './store-errors.ts';

export type LabelOp = 'exists' | 'notexists' | 'eq' | 'neq' | 'in' | 'notin' | 'gt' | 'lt';
export interface LabelRequirement { key: string; op: LabelOp; values: string[] }
export interface LabelSelector { requirements: LabelRequirement[]; matches(labels: Record<string, string> | undefined): boolean; empty: boolean }

type TokKind = 'id' | '=' | '==' | '!=' | '!' | '(' | ')' | ',' | '>' | '<' | 'end';
interface Tok { kind: TokKind; text: string; pos: number }

const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n') { i++; continue; }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=') { toks.push({ kind: two, text: two, pos: i }); i += 2; continue; }
    if ('=!(),<>'.includes(c)) { toks.push({ kind: c as TokKind, text: c, pos: i }); i++; continue; }
    const start = i;
    while (i < src.length && !' \t\n=!(),<>'.includes(src[i]!)) i++;
    toks.push({ kind: 'id', text: src.slice(start, i), pos: start });
  }
  toks.push({ kind: 'end', text: '', pos: src.length });
  return toks;
}

function fail(src: string, tok: Tok, expected: string): never {
  const found = tok.kind === 'end' ? 'end of string' : `"${tok.text}"`;
  throw badRequest(`invalid labelSelector "${src}": found ${found} at position ${tok.pos}, expected ${expected}`);
}

function checkKey(src: string, tok: Tok): string {
  const key = tok.text;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const ok = name.length > 0 && name.length <= 63 && NAME.test(name) &&
    (prefix === undefined || (prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
  if (!ok) throw badRequest(`invalid labelSelector "${src}": key "${key}" at position ${tok.pos} is not a valid label key (name part: up to 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric; optional DNS-subdomain prefix and '/')`);
  return key;
}

function checkValue(src: string, tok: Tok): string {
  const v = tok.text;
  if (v.length > 63 || (v !== '' && !NAME.test(v))) {
    throw badRequest(`invalid labelSelector "${src}": value "${v}" at position ${tok.pos} is not a valid label value (up to 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)`);
  }
  return v;
}

function parseRequirement(src: string, toks: Tok[], at: number): [LabelRequirement, number] {
  let t = toks[at]!;
  if (t.kind === '!') {
    const k = toks[at + 1]!;
    if (k.kind !== 'id') fail(src, k, 'a label key after "!"');
    return [{ key: checkKey(src, k), op: 'notexists', values: [] }, at + 2];
  }
  if (t.kind !== 'id') fail(src, t, 'a label key');
  const key = checkKey(src, t);
  t = toks[at + 1]!;
  if (t.kind === ',' || t.kind === 'end') return [{ key, op: 'exists', values: [] }, at + 1];
  if (t.kind === '=' || t.kind === '==' || t.kind === '!=') {
    const v = toks[at + 2]!;
    // `a=` selects the empty value, as in Kubernetes.
    if (v.kind === ',' || v.kind === 'end') return [{ key, op: t.kind === '!=' ? 'neq' : 'eq', values: [''] }, at + 2];
    if (v.kind !== 'id') fail(src, v, 'a label value');
    return [{ key, op: t.kind === '!=' ? 'neq' : 'eq', values: [checkValue(src, v)] }, at + 3];
  }
  if (t.kind === '>' || t.kind === '<') {
    const v = toks[at + 2]!;
    if (v.kind !== 'id' || !/^-?\d+$/.test(v.text)) fail(src, v, `an integer after "${t.text}"`);
    return [{ key, op: t.kind === '>' ? 'gt' : 'lt', values: [v.text] }, at + 3];
  }
  if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) {
    const op: LabelOp = t.text === 'in' ? 'in' : 'notin';
    let i = at + 2;
    if (toks[at + 2]!.kind !== '(') fail(src, toks[at + 2]!, `"(" after "${t.text}"`);
    const values: string[] = [];
    for (;;) {
      const v = toks[i + 1]!;
      if (v.kind === ')' && values.length === 0) fail(src, v, 'at least one value in the set');
      if (v.kind === 'id') { values.push(checkValue(src, v)); i += 1; } else if (v.kind === ',' || v.kind === ')') values.push('');
      else fail(src, v, 'a value, "," or ")"');
      const sep = toks[i + 1]!;
      if (sep.kind === ')') return [{ key, op, values }, i + 2];
      if (sep.kind !== ',') fail(src, sep, '"," or ")" in the value set');
      i += 1;
    }
  }
  return fail(src, t, 'one of "=", "==", "!=", "in", "notin", ">", "<", "," or the end');
}

function matchOne(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key]! : undefined;
  switch (r.op) {
    case 'exists': return has;
    case 'notexists': return !has;
    case 'eq': return has && v === r.values[0];
    case 'neq': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v!);
    case 'notin': return !has || !r.values.includes(v!);
    case 'gt': case 'lt': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number(v), bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

function build(requirements: LabelRequirement[]): LabelSelector {
  return {
    requirements,
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => matchOne(r, labels)),
  };
}

const cache = new Map<string, LabelSelector>();
const CACHE_MAX = 512;

/** Parses a selector; '' or undefined selects everything. Throws SLUICE_E_BAD_REQUEST naming the bad token. */
export function parseLabelSelector(src: string | undefined): LabelSelector {
  const s = (src ?? '').trim();
  const hit = cache.get(s);
  if (hit) return hit;
  const requirements: LabelRequirement[] = [];
  if (s !== '') {
    const toks = lex(s);
    let i = 0;
    for (;;) {
      const [req, next] = parseRequirement(s, toks, i);
      requirements.push(req);
      const t = toks[next]!;
      if (t.kind === 'end') break;
      if (t.kind !== ',') fail(s, t, '"," or the end of the selector');
      i = next + 1;
    }
  }
  const sel = build(requirements);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(s, sel);
  return sel;
}
